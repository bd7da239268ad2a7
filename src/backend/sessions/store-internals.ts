/**
 * What a session store shares with the handler beyond the SessionStore
 * interface: its coordination and (Redis) a script client for the rate
 * limits. Kept off the public types on purpose; a non-enumerable property
 * under a registered symbol, so two bundled copies of the package agree.
 */
import type { Coordination } from "./coordination.js";
import type { SessionStore } from "./types.js";

/** The one call rate-limiter-flexible's RateLimiterRedis makes for `consume` with a node-redis style client. */
export interface LimiterScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface StoreInternals {
  coordination: Coordination;
  /** Present when the store is shared (Redis): the rate limits then count on it too. */
  limiterClient?: LimiterScriptClient;
}

const KEY = Symbol.for("codex-auth.store-internals");

/** Attaches internals to a store object (not enumerable, not part of its type). */
export function withInternals<Store extends SessionStore>(store: Store, internals: StoreInternals): Store {
  Object.defineProperty(store, KEY, { value: internals, enumerable: false });
  return store;
}

/** The internals a built-in store carries; undefined for any other store. */
export function internalsOf(store: SessionStore): StoreInternals | undefined {
  const value: unknown = (store as unknown as Record<symbol, unknown>)[KEY];
  return typeof value === "object" && value !== null ? (value as StoreInternals) : undefined;
}
