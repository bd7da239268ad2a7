/**
 * What several backend instances on one store must agree on (the run lease,
 * the refresh lock, the upstream poll slot) as named holds with an expiry.
 * One process uses the memory implementation; the Redis session store brings
 * its own, so every instance on one Redis shares them. An instance that dies
 * holding something loses it when the hold expires; nobody has to clean up.
 */
import { storageKey } from "./key.js";

/**
 * Named holds with an expiry, shared by every instance on one store. Names are
 * stored as SHA-256, so a name may be built from a session handle or a token hash.
 *
 * @example
 * const token = await coordination.acquire(`run:${handle}`, 3_000);
 * if (token === null) return "busy";
 * await coordination.renew(`run:${handle}`, token, 3_000); // while working
 * await coordination.release(`run:${handle}`, token);
 */
export interface Coordination {
  /** Takes `name` for `ttlMs` when nobody holds it: the holder's token, or null when it is held. */
  acquire(name: string, ttlMs: number): Promise<string | null>;
  /** Extends a hold `token` still owns; false once it expired, was released or was revoked. */
  renew(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Ends a hold `token` still owns (someone else's later hold is left alone). */
  release(name: string, token: string): Promise<void>;
  /** Ends the hold on `name`, whoever owns it: logout ending a run on another instance. */
  revoke(name: string): Promise<void>;
}

/** A fresh owner token: only its holder can renew or release a hold. */
export function newHoldToken(): string {
  return crypto.randomUUID();
}

/**
 * Holds in this process's memory, on the real clock (a hold is a duration,
 * not a session time): right for one process, useless across several.
 *
 * @example
 * const coordination = createMemoryCoordination();
 */
export function createMemoryCoordination(now: () => number = Date.now): Coordination {
  const holds = new Map<string, { token: string; until: number }>();
  const live = (key: string, at: number): { token: string; until: number } | undefined => {
    const hold = holds.get(key);
    if (hold !== undefined && hold.until <= at) {
      holds.delete(key);
      return undefined;
    }
    return hold;
  };
  const sweep = (at: number): void => {
    // Expired holds go lazily; a full pass only when enough have piled up to be worth it.
    if (holds.size < 1_024) return;
    for (const [key, hold] of holds) if (hold.until <= at) holds.delete(key);
  };
  return {
    async acquire(name, ttlMs) {
      const at = now();
      sweep(at);
      const key = storageKey(name);
      if (live(key, at) !== undefined) return null;
      const token = newHoldToken();
      holds.set(key, { token, until: at + ttlMs });
      return token;
    },
    async renew(name, token, ttlMs) {
      const at = now();
      const hold = live(storageKey(name), at);
      if (hold === undefined || hold.token !== token) return false;
      hold.until = at + ttlMs;
      return true;
    },
    async release(name, token) {
      const key = storageKey(name);
      if (holds.get(key)?.token === token) holds.delete(key);
    },
    async revoke(name) {
      holds.delete(storageKey(name));
    },
  };
}
