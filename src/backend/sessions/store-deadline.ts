/**
 * A deadline on every call to a shared store (the Redis session store, the
 * Redis rate limits). A Redis that is down fails its calls, and a frozen one
 * (SIGSTOP, a stalled network) answers nothing at all; either way the request
 * gets 503 STORE_UNAVAILABLE within the deadline, instead of a 500 or a hang,
 * and the next request simply tries again.
 *
 * A call past its deadline cannot be taken back: Redis may still run it when
 * it wakes. So this wrapper never re-sends a call, drops the late reply
 * (caught, so it is never an unhandled rejection), and keeps calls from piling
 * up behind a stuck one: while a late call is unanswered, only one call at a
 * time is sent, to find out whether the store is back.
 */
import type { CodexLogger } from "../core/audit.js";
import { errorMessage } from "../core/error-message.js";
import { CodexError } from "../core/errors.js";

const NOT_CONNECTED = new Error("the client is not connected");
const STUCK = new Error("an earlier call is still unanswered past its deadline");

/** How long a store call may take by default, in ms. */
export const DEFAULT_STORE_CALL_TIMEOUT_MS = 1000;

export interface StoreDeadlineOptions {
  /** The call's deadline in ms. Default 1000. */
  timeoutMs?: number | undefined;
  /**
   * The store's client, if it says whether it is connected (node-redis:
   * `isReady`). While it says false, calls fail at once rather than wait in
   * the client's offline queue, from which they would run late after a reconnect.
   */
  client?: unknown;
}

export interface StoreDeadline {
  /**
   * Runs one store call within the deadline. `send` gets a signal that aborts
   * at the deadline: a call made of steps (EVALSHA, then EVAL) stops there.
   * An outage (timeout, lost connection, a Redis that is loading, read-only
   * or busy) becomes a CodexError STORE_UNAVAILABLE; any other error passes through.
   */
  run<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/**
 * Builds the deadline for one store (one client).
 *
 * @example
 * const deadline = createStoreDeadline({ timeoutMs: 1000, client });
 * const reply = await deadline.run(() => client.evalSha(sha, { keys, arguments: args }));
 */
export function createStoreDeadline(options: StoreDeadlineOptions = {}): StoreDeadline {
  const timeoutMs = positiveOr(options.timeoutMs, DEFAULT_STORE_CALL_TIMEOUT_MS);
  const retryAfterSec = Math.max(1, Math.ceil(timeoutMs / 1000));
  const client = options.client;
  // Calls sent and still within their deadline; calls past it and not yet settled.
  let inTime = 0;
  let late = 0;
  // Bumped when an answer in time shows the store is back: older late calls then count no more.
  let epoch = 0;

  const unavailable = (cause?: unknown): CodexError => storeUnavailable(retryAfterSec, cause);

  return {
    run<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T> {
      if (reportsNotReady(client)) return Promise.reject(unavailable(NOT_CONNECTED));
      // A stuck store: one call finds out whether it is back; the others are refused, not queued.
      if (late > 0 && inTime > 0) return Promise.reject(unavailable(STUCK));

      const abort = new AbortController();
      let sent: Promise<T>;
      try {
        sent = send(abort.signal);
      } catch (error) {
        return Promise.reject(classify(error, unavailable));
      }
      inTime++;
      const callEpoch = epoch;
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          inTime--;
          late++;
          abort.abort();
          reject(unavailable(new Error(`no answer within ${timeoutMs} ms`)));
          // The reply still comes (or the connection drops): it is dropped here, once.
          sent.then(
            () => lateSettled(callEpoch),
            () => lateSettled(callEpoch),
          );
        }, timeoutMs);
        sent.then(
          (value) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            inTime--;
            if (late > 0) {
              late = 0;
              epoch++;
            }
            resolve(value);
          },
          (error: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            inTime--;
            reject(classify(error, unavailable));
          },
        );
      });
    },
  };

  function lateSettled(callEpoch: number): void {
    if (callEpoch === epoch && late > 0) late--;
  }
}

/**
 * The error a request gets when the store is down or too slow: 503 with Retry-After.
 *
 * @example
 * throw storeUnavailable(1, error);
 */
export function storeUnavailable(retryAfterSec: number, cause?: unknown): CodexError {
  return new CodexError("STORE_UNAVAILABLE", "The service is briefly unavailable. Try again in a moment.", {
    details: { retryAfter: retryAfterSec },
    cause,
  });
}

/**
 * Logs a store outage at most once per `everyMs`. During an outage every request fails the
 * same way, so one line says it; a frozen Redis raises no client "error" event, so this line
 * may be the only sign of it in the logs.
 *
 * @example
 * const warnOutage = outageWarner(log);
 * warnOutage(error); // logs if error is STORE_UNAVAILABLE and nothing was logged in the last 10 s
 */
export function outageWarner(log: Required<Pick<CodexLogger, "warn">>, everyMs = 10_000, now: () => number = Date.now): (error: unknown) => void {
  let lastAt = -Infinity;
  return (error) => {
    if (!(error instanceof CodexError) || error.code !== "STORE_UNAVAILABLE") return;
    const at = now();
    if (at - lastAt < everyMs) return;
    lastAt = at;
    const cause = error.cause === undefined ? "unknown" : errorMessage(error.cause);
    log.warn("codex-auth: the session store is unavailable; requests are answered 503 STORE_UNAVAILABLE", { error: cause });
  };
}

// Redis replies that mean "not now" rather than "wrong": a server loading its data, a replica
// after a failover (READONLY), a primary without its replicas, a busy script, a failed save.
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;
// Any other Redis error reply ("ERR …", "WRONGTYPE …") is a fault of the caller, not an outage.
const SERVER_REPLY = /^[A-Z][A-Z_]+ /;

/**
 * True when a store call failed because the store is out of reach: a lost or
 * refused connection, a closed or offline client, a full queue, a transient
 * Redis reply. False for a programming error or another Redis error reply.
 *
 * @example
 * isStoreOutage(new Error("Socket closed unexpectedly")); // true
 * isStoreOutage(new Error("WRONGTYPE Operation against a key holding the wrong kind of value")); // false
 */
export function isStoreOutage(error: unknown): boolean {
  if (error instanceof CodexError) return error.code === "STORE_UNAVAILABLE";
  if (!(error instanceof Error)) return false;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError) {
    return false;
  }
  return TRANSIENT_REPLY.test(error.message) || !SERVER_REPLY.test(error.message);
}

function classify(error: unknown, unavailable: (cause?: unknown) => CodexError): unknown {
  if (error instanceof CodexError) return error;
  return isStoreOutage(error) ? unavailable(error) : error;
}

function reportsNotReady(client: unknown): boolean {
  return typeof client === "object" && client !== null && (client as { isReady?: unknown }).isReady === false;
}

// setTimeout fires at once for a delay past 2^31 - 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function positiveOr(value: number | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.min(value, MAX_TIMER_MS) : fallback;
}
