/**
 * Single-flight token refresh. Refresh tokens rotate and a reused one kills the
 * login, so one refresh token is sent upstream at most once: in a process,
 * every caller holding it (even from a copy of the session loaded before
 * another request saved the rotated tokens) adopts the one result; across
 * instances on one store, a lock with an expiry picks the one instance that
 * sends it, and it reads the session again after taking the lock, so a
 * refresh another instance already did is adopted, never repeated. The others
 * wait and adopt the result from the store. A permanent failure clears the
 * session only while the store still holds the tokens that failed.
 */
import { CodexError } from "../../core/errors.js";
import type { Coordination } from "../../sessions/coordination.js";
import type { RunnerContext } from "../types.js";
import { isChallenge, mapUpstreamReply, upstreamErrorCode } from "./errors.js";
import { request, sleep } from "./http.js";
import type { ResolvedOptions } from "./options.js";
import { clearAll, readTokens, writeTokens } from "./session-data.js";
import { tokensFromGrant, type StoredTokens } from "./tokens.js";

/** How long a settled refresh is remembered for late callers holding the old token. */
const KEEP_RESULT_MS = 5 * 60 * 1000;
/** How often an instance waiting on another's refresh looks in the store for the result. */
const WAIT_STEP_MS = 100;
/** The refresh lock outlives the upstream call's own timeout by this much, so a live holder never loses it. */
const LOCK_MARGIN_MS = 5_000;

const PERMANENT_CODES = new Set([
  "refresh_token_reused",
  "refresh_token_expired",
  "refresh_token_invalidated",
  "invalid_grant",
]);

export type RefreshReason = "proactive_expiry" | "unauthorized_recovery";

type Outcome = { ok: true; tokens: StoredTokens } | { ok: false; permanent: boolean; error: CodexError };

interface Flight {
  promise: Promise<Outcome>;
  settledAt?: number;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const signInAgain = (): CodexError => new CodexError("NOT_AUTHENTICATED", "Your ChatGPT sign-in has ended; please sign in again.");

export class Refresher {
  /** Keyed by SHA-256 of the refresh token sent, never the token itself. */
  readonly #flights = new Map<string, Flight>();
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** The session's tokens, refreshed first when the access token expires within the margin. */
  async fresh(ctx: RunnerContext): Promise<StoredTokens> {
    const tokens = readTokens(ctx.data);
    if (!tokens) throw new CodexError("NOT_AUTHENTICATED", "Not signed in.");
    // Tokens that live less than twice the margin are refreshed at half-life, not on every call.
    const lifetime = tokens.obtainedAt !== undefined ? tokens.expiresAt - tokens.obtainedAt : Number.POSITIVE_INFINITY;
    const margin = Math.min(this.#options.refreshMarginMs, lifetime / 2);
    if (tokens.expiresAt - margin > this.#options.now()) return tokens;
    return this.refresh(ctx, "proactive_expiry");
  }

  /**
   * Refresh the session's tokens (or adopt the result of a refresh of the same
   * token already done), write them into `ctx.data` and save at once.
   * Permanent failure: tokens dropped, NOT_AUTHENTICATED. Transient: tokens kept, error thrown.
   */
  async refresh(ctx: RunnerContext, reason: RefreshReason): Promise<StoredTokens> {
    const tokens = readTokens(ctx.data);
    if (!tokens) throw new CodexError("NOT_AUTHENTICATED", "Not signed in.");
    const key = await sha256Hex(tokens.refreshToken);
    const outcome = await this.#flightFor(key, () => this.#acrossInstances(ctx, key, tokens, reason));
    if (outcome.ok) {
      writeTokens(ctx.data, outcome.tokens);
      await ctx.save?.();
      return outcome.tokens;
    }
    if (outcome.permanent) {
      // Only the tokens that failed are cleared: newer ones this copy of the session already holds, or that
      // the store holds (the save is a compare-and-set that merges them back in), are adopted instead.
      const current = readTokens(ctx.data);
      if (current !== undefined && current.refreshToken !== tokens.refreshToken) return current;
      clearAll(ctx.data);
      await ctx.save?.();
      const newer = readTokens(ctx.data);
      if (newer !== undefined) return newer;
    }
    throw outcome.error;
  }

  #flightFor(key: string, fly: () => Promise<Outcome>): Promise<Outcome> {
    const now = Date.now();
    const existing = this.#flights.get(key);
    if (existing && (existing.settledAt === undefined || now - existing.settledAt < KEEP_RESULT_MS)) {
      return existing.promise;
    }
    this.#sweep(now);
    const flight: Flight = { promise: fly() };
    this.#flights.set(key, flight);
    const forget = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    void flight.promise.then((outcome) => {
      // A transient failure is forgotten so that the next request may try again.
      if (outcome.ok || outcome.permanent) flight.settledAt = Date.now();
      else forget();
    }, forget); // a store that failed (the lock, the re-read): forgotten too; its callers get the error
    return flight.promise;
  }

  #sweep(now: number): void {
    for (const [key, flight] of this.#flights) {
      if (flight.settledAt !== undefined && now - flight.settledAt >= KEEP_RESULT_MS) this.#flights.delete(key);
    }
  }

  /**
   * The refresh as one instance among several: whoever takes the token's lock
   * re-reads the session, adopts tokens already refreshed elsewhere or sends
   * the refresh and saves its result before letting go; the others adopt that
   * result from the store. Without coordination, or without a way to read and
   * save the session (a runner used on its own), a plain send.
   */
  async #acrossInstances(ctx: RunnerContext, key: string, tokens: StoredTokens, reason: RefreshReason): Promise<Outcome> {
    const coordination = ctx.coordination;
    if (coordination === undefined || ctx.reload === undefined || ctx.save === undefined) return this.#send(tokens, reason);
    const name = `refresh:${key}`;
    const lockMs = this.#options.timeouts.requestMs + LOCK_MARGIN_MS;
    // Real time, not the injected clock: this bounds a wait, and a dead holder's lock lapses after lockMs.
    const deadline = Date.now() + lockMs + WAIT_STEP_MS;
    for (;;) {
      const hold = await coordination.acquire(name, lockMs);
      if (hold !== null) return this.#underLock(ctx, coordination, name, hold, tokens, reason);
      await sleep(WAIT_STEP_MS);
      const stored = await storedOutcome(ctx, tokens);
      if (stored !== undefined) return stored;
      if (Date.now() > deadline) {
        return { ok: false, permanent: false, error: new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service is busy; try again.") };
      }
    }
  }

  async #underLock(
    ctx: RunnerContext,
    coordination: Coordination,
    name: string,
    hold: string,
    tokens: StoredTokens,
    reason: RefreshReason,
  ): Promise<Outcome> {
    try {
      // Taken the lock: a refresh done elsewhere before we took it is adopted, never repeated.
      const stored = await storedOutcome(ctx, tokens);
      if (stored !== undefined) return stored;
      const outcome = await this.#send(tokens, reason);
      // Saved before the lock is let go, so whoever takes it next finds the result.
      if (outcome.ok) writeTokens(ctx.data, outcome.tokens);
      else if (outcome.permanent) clearAll(ctx.data); // a compare-and-set: it loses to tokens newer than the failed ones
      if (outcome.ok || outcome.permanent) await ctx.save?.();
      return outcome;
    } finally {
      await coordination.release(name, hold).catch(() => undefined); // if this fails, the lock lapses by itself
    }
  }

  async #send(tokens: StoredTokens, reason: RefreshReason): Promise<Outcome> {
    const { issuer, clientId, fetch, timeouts, now } = this.#options;
    try {
      const reply = await request(
        fetch,
        `${issuer}/oauth/token`,
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({
            client_id: clientId,
            grant_type: "refresh_token",
            refresh_token: tokens.refreshToken,
            refresh_reason: reason,
          }),
        },
        timeouts.requestMs,
      );
      if (reply.status >= 200 && reply.status < 300) {
        const next = tokensFromGrant(reply.json, now(), tokens);
        if (next) return { ok: true, tokens: next };
        return {
          ok: false,
          permanent: false,
          error: new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service gave an unreadable answer."),
        };
      }
      const code = upstreamErrorCode(reply.json);
      const permanent =
        (reply.status === 401 || (reply.status === 400 && code !== undefined && PERMANENT_CODES.has(code))) &&
        !isChallenge(reply);
      if (permanent) return { ok: false, permanent: true, error: signInAgain() };
      const mapped = mapUpstreamReply(reply, now());
      // A refresh that fails for any other reason keeps the session signed in.
      const error =
        mapped.code === "RUN_FAILED" || mapped.code === "NOT_AUTHENTICATED"
          ? new CodexError("UPSTREAM_UNAVAILABLE", `The sign-in service failed (status ${reply.status}).`)
          : mapped;
      return { ok: false, permanent: false, error };
    } catch (error) {
      return {
        ok: false,
        permanent: false,
        error:
          error instanceof CodexError
            ? error
            : new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service could not be reached.", { cause: error }),
      };
    }
  }
}

/**
 * What the store says now about a refresh of `tokens`: other tokens (refreshed
 * elsewhere) to adopt, no tokens (signed out meanwhile), or undefined when it
 * still holds `tokens` (nobody refreshed them yet).
 */
async function storedOutcome(ctx: RunnerContext, tokens: StoredTokens): Promise<Outcome | undefined> {
  if (ctx.reload === undefined) return undefined;
  // Gone or signed out elsewhere: not this refresh's failure, so nothing is cleared on its account.
  if (!(await ctx.reload())) return { ok: false, permanent: false, error: signInAgain() };
  const current = readTokens(ctx.data);
  if (current === undefined) return { ok: false, permanent: false, error: signInAgain() };
  if (current.refreshToken !== tokens.refreshToken) return { ok: true, tokens: current };
  return undefined;
}
