/** Coordination on the Redis session store: one key per hold, through the store's own script call. */
import type { Coordination } from "./coordination.js";
import { newHoldToken } from "./coordination.js";
import { storageKey } from "./key.js";
import { HOLD_ACQUIRE, HOLD_RELEASE, HOLD_RENEW, HOLD_REVOKE, luaScript, type LuaScript } from "./redis-scripts.js";
import type { ScriptCall } from "./redis-store.js";
import type { LimiterScriptClient } from "./store-internals.js";

/**
 * Holds as `prefix` + SHA-256 of the name, the owner's token as the value and
 * PX as the expiry. Every call goes through the store's `call`, so it shares
 * the store's connection and its script handling.
 *
 * @example
 * const coordination = createRedisCoordination(call, "codex-auth:session:hold:");
 */
export function createRedisCoordination(call: ScriptCall, prefix: string): Coordination {
  const keyOf = (name: string): string[] => [prefix + storageKey(name)];
  const ms = (ttlMs: number): string => String(Math.max(1, Math.ceil(ttlMs)));
  return {
    async acquire(name, ttlMs) {
      const token = newHoldToken();
      return Number(await call(HOLD_ACQUIRE, keyOf(name), [token, ms(ttlMs)])) === 1 ? token : null;
    },
    async renew(name, token, ttlMs) {
      return Number(await call(HOLD_RENEW, keyOf(name), [token, ms(ttlMs)])) === 1;
    },
    async release(name, token) {
      await call(HOLD_RELEASE, keyOf(name), [token]);
    },
    async revoke(name) {
      await call(HOLD_REVOKE, keyOf(name), []);
    },
  };
}

/**
 * The client rate-limiter-flexible's RateLimiterRedis gets (as a node-redis
 * client: `eval(script, { keys, arguments })` is all `consume` calls), routed
 * through the store's `call` so the limits share its connection and EVALSHA.
 */
export function limiterClientOver(call: ScriptCall): LimiterScriptClient {
  const scripts = new Map<string, LuaScript>();
  return {
    eval(source, options) {
      let lua = scripts.get(source);
      if (lua === undefined) {
        lua = luaScript(source);
        scripts.set(source, lua);
      }
      return call(lua, options.keys, options.arguments);
    },
  };
}
