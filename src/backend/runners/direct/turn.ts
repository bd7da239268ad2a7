/** Sending one turn upstream with the session's tokens: refresh once after a 401, retry a 5xx with backoff. */
import { CodexError } from "../../core/errors.js";
import type { RunnerContext } from "../types.js";
import { sleep, type Cancel } from "./http.js";
import type { ResolvedOptions } from "./options.js";
import type { Refresher } from "./refresh.js";
import { postTurn, type PreparedTurn, type TurnReply } from "./responses.js";
import type { StoredTokens } from "./tokens.js";

/** The session's tokens, refreshed first if they are about to expire, and a recovery that refreshes them once after a 401. */
export async function freshAuth(
  refresher: Refresher,
  ctx: RunnerContext,
): Promise<{ auth: { tokens: StoredTokens }; recover: () => Promise<boolean> }> {
  const auth = { tokens: await refresher.fresh(ctx) };
  let refreshed = false;
  // A 401 anywhere means: refresh once, then retry once.
  const recover = async (): Promise<boolean> => {
    if (refreshed) return false;
    refreshed = true;
    auth.tokens = await refresher.refresh(ctx, "unauthorized_recovery");
    return true;
  };
  return { auth, recover };
}

/** `call`, and once more after a refresh if it failed for want of a valid token. */
export async function withAuthRetry<T>(call: () => Promise<T>, recover: () => Promise<boolean>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CodexError && error.code === "NOT_AUTHENTICATED" && (await recover())) return call();
    throw error;
  }
}

/** POST the turn: a 401 refreshes once, a 5xx or network failure is retried with backoff (bounded). */
export async function openTurn(
  opts: ResolvedOptions,
  auth: { tokens: StoredTokens },
  turn: PreparedTurn,
  cancel: Cancel,
  signal: AbortSignal,
  recover: () => Promise<boolean>,
): Promise<TurnReply> {
  for (let attempt = 0; ; attempt++) {
    let outcome: TurnReply;
    try {
      outcome = await postTurn(opts, auth.tokens, turn, cancel);
    } catch (error) {
      const retriable = error instanceof CodexError && error.code === "UPSTREAM_UNAVAILABLE";
      if (!retriable || attempt >= opts.retries) throw error;
      await sleep(opts.retryBaseDelayMs * 2 ** attempt, signal);
      continue;
    }
    if (outcome.ok) return outcome;
    const status = outcome.reply.status;
    if (status === 401 && (await recover())) continue;
    if (status >= 500 && attempt < opts.retries) {
      await sleep(opts.retryBaseDelayMs * 2 ** attempt, signal);
      continue;
    }
    return outcome;
  }
}
