/** `directRunner`: the CodexRunner that talks to auth.openai.com and the Codex backend with plain fetch. */
import type { RunEvent } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import type { CodexRunner, RunnerContext, RunOptions } from "../types.js";
import { DeviceLogins } from "./device-login.js";
import { toErrorEvent } from "../error-event.js";
import { isModelNotSupported, mapUpstreamReply } from "./errors.js";
import { Cancel, request } from "./http.js";
import { chooseModels, discoverModels, forgetModels, notAvailable } from "./models.js";
import { resolveOptions, type DirectRunnerOptions, type ResolvedOptions } from "./options.js";
import { Refresher } from "./refresh.js";
import { sendResponses } from "./responses-call.js";
import { freshAuth, openTurn, withAuthRetry } from "./turn.js";
import { prepareTurn, type TurnInput } from "./responses.js";
import { clearAll, conversationId, readTokens } from "./session-data.js";
import { streamEvents } from "./sse.js";

/**
 * The recommended runner: pure `fetch`, so it runs on Node and on edge runtimes.
 *
 * @example
 * const handler = createCodexHandler({
 *   runner: directRunner({ models: ["gpt-5.4-codex"], timeouts: { idleMs: 30_000 } }),
 *   cookieSecret: process.env.CODEX_COOKIE_SECRET!,
 * });
 */
export function directRunner(options: DirectRunnerOptions = {}): CodexRunner {
  const opts = resolveOptions(options);
  const logins = new DeviceLogins(opts);
  const refresher = new Refresher(opts);
  return {
    startDeviceLogin: (ctx) => logins.start(ctx),
    getStatus: (ctx) => logins.status(ctx),
    run: (ctx, prompt, signal, runOptions) => runTurn(opts, refresher, ctx, prompt, signal, runOptions ?? {}),
    logout: (ctx) => logout(opts, ctx),
    responses: (ctx, body, signal) => sendResponses(opts, refresher, ctx, body, signal),
  };
}

async function* runTurn(
  opts: ResolvedOptions,
  refresher: Refresher,
  ctx: RunnerContext,
  prompt: string,
  signal: AbortSignal,
  runOptions: RunOptions,
): AsyncGenerator<RunEvent, void, undefined> {
  const cancel = new Cancel(signal);
  try {
    const { auth, recover } = await freshAuth(refresher, ctx);
    const allowed = await withAuthRetry(() => discoverModels(ctx, auth.tokens, opts, cancel.signal), recover);
    const candidates = chooseModels(runOptions.model, allowed, opts.models);
    const sessionId = conversationId(ctx.data, opts.randomId);
    for (const model of candidates) {
      const turn: TurnInput = {
        model,
        prompt,
        instructions: runOptions.instructions ?? opts.instructions,
        history: runOptions.history,
        effort: opts.effort,
        sessionId,
      };
      const outcome = await openTurn(opts, auth, prepareTurn(turn), cancel, signal, recover);
      if (!outcome.ok) {
        if (isModelNotSupported(outcome.reply)) {
          // The plan changed since discovery: forget the list; try the app's next preference, if any.
          forgetModels(ctx);
          continue;
        }
        throw mapUpstreamReply(outcome.reply, opts.now(), allowed);
      }
      if (!outcome.response.body) throw new CodexError("RUN_FAILED", "The answer stream was empty.");
      let done: RunEvent | undefined;
      for await (const event of streamEvents(outcome.response.body, cancel, opts.timeouts)) {
        if (event.type === "done") {
          done = { type: "done", result: { ...event.result, model } };
          break;
        }
        yield event;
      }
      // Release everything before the last event: a consumer may never pull again after `done`.
      cancel.dispose();
      if (done) yield done;
      return;
    }
    throw notAvailable("The model is not available for this account.", allowed.filter((m) => !candidates.includes(m)));
  } catch (error) {
    // Release the upstream before the last event, as for `done`.
    cancel.controller.abort();
    cancel.dispose();
    if (signal.aborted) return; // the client went away: nobody to tell
    yield toErrorEvent(error);
  } finally {
    cancel.controller.abort();
    cancel.dispose();
  }
}

/** Revoke upstream (best effort, bounded) and forget every token. */
async function logout(opts: ResolvedOptions, ctx: RunnerContext): Promise<void> {
  const tokens = readTokens(ctx.data);
  clearAll(ctx.data);
  if (!tokens) return;
  await request(
    opts.fetch,
    `${opts.issuer}/oauth/revoke`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: tokens.refreshToken, token_type_hint: "refresh_token", client_id: opts.clientId }),
    },
    opts.timeouts.revokeMs,
  ).catch(() => undefined);
}
