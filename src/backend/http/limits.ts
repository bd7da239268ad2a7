import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { safeLogger, type CodexLogger } from "../core/audit.js";
import { createStoreDeadline, type StoreDeadline } from "../sessions/store-deadline.js";
import { ipRateKey } from "./ip-key.js";
import type { RateLimitOptions, RateLimitRule } from "../core/options.js";
import type { LimiterScriptClient } from "../sessions/store-internals.js";

export type LimitName = "sessionCreatePerIp" | "loginStartPerSession" | "loginStartPerIp" | "runPerSession" | "runPerIp";

/** The limits keyed on the client's address: they count per IPv4 address and per IPv6 /64. */
const PER_IP: ReadonlySet<LimitName> = new Set(["sessionCreatePerIp", "loginStartPerIp", "runPerIp"]);

const DEFAULTS: Record<LimitName, RateLimitRule> = {
  sessionCreatePerIp: { points: 60, durationSec: 60 },
  loginStartPerSession: { points: 10, durationSec: 60 },
  loginStartPerIp: { points: 30, durationSec: 60 },
  runPerSession: { points: 30, durationSec: 60 },
  runPerIp: { points: 120, durationSec: 60 },
};

/** What a check answers: allowed, or refused with the seconds to wait. */
export type LimitVerdict = { ok: true } | { ok: false; retryAfterSec: number; limit: LimitName };

export interface RateLimits {
  /**
   * Consumes one point from each named limit for its key; refuses on the first one exhausted.
   * Per-IP limits count an IPv6 client by its /64 (see ipRateKey). Checks whose key is
   * undefined (no client IP known) are skipped.
   */
  consume(checks: ReadonlyArray<readonly [LimitName, string | undefined]>): Promise<LimitVerdict>;
}

/**
 * Builds the handler's rate limits on rate-limiter-flexible: memory by
 * default, Redis with `storeClient`, anything with `createLimiter`. Given the
 * Redis session store's client (`sharedClient`), they count there unless
 * `useSessionStore: false`, so a client has one bucket across every instance.
 *
 * @example
 * const limits = createRateLimits({ runPerIp: { points: 20, durationSec: 60 } });
 * await limits.consume([["runPerIp", ip], ["runPerSession", handle]]);
 */
export function createRateLimits(options: false | RateLimitOptions | undefined, sharedClient?: LimiterScriptClient): RateLimits {
  if (options === false) return { consume: async () => ({ ok: true }) };
  const given = options ?? {};
  const shared = sharedClient !== undefined && given.useSessionStore !== false && given.storeClient === undefined;
  // The store's client speaks node-redis's `eval(script, { keys, arguments })`, through the store's own call.
  const opts: RateLimitOptions = shared ? { ...given, storeClient: sharedClient, useRedisPackage: true } : given;
  const limiters = new Map<LimitName, RateLimiterAbstract>();
  for (const name of Object.keys(DEFAULTS) as LimitName[]) {
    const rule = opts[name] ?? DEFAULTS[name];
    const config = { keyPrefix: `codex-auth:${name}`, points: rule.points, duration: rule.durationSec };
    limiters.set(name, buildLimiter(opts, config));
  }
  // A limiter with a store (Redis…) answers within a deadline, or the request gets 503 STORE_UNAVAILABLE:
  // an unreachable store neither hangs requests nor lets them through unlimited. The session store's client
  // already calls Redis under the store's own deadline, so it gets no second one.
  const deadline: StoreDeadline | undefined =
    !shared && (opts.createLimiter !== undefined || opts.storeClient !== undefined)
      ? createStoreDeadline({ timeoutMs: opts.callTimeoutMs, client: opts.storeClient })
      : undefined;
  return {
    async consume(checks) {
      for (const [name, key] of checks) {
        if (key === undefined) continue;
        const limiter = limiters.get(name) as RateLimiterAbstract;
        try {
          const rateKey = PER_IP.has(name) ? ipRateKey(key) : key;
          await (deadline === undefined ? limiter.consume(rateKey, 1) : deadline.run(() => limiter.consume(rateKey, 1)));
        } catch (rejection) {
          // rate-limiter-flexible rejects with a RateLimiterRes when exhausted, with an Error when its store fails
          // (the deadline turns a store outage into STORE_UNAVAILABLE).
          if (rejection instanceof RateLimiterRes) {
            return { ok: false, limit: name, retryAfterSec: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
          }
          throw rejection;
        }
      }
      return { ok: true };
    },
  };
}

function buildLimiter(opts: RateLimitOptions, config: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract {
  if (opts.createLimiter !== undefined) return opts.createLimiter(config);
  if (opts.storeClient !== undefined) {
    // rejectIfRedisNotReady: a disconnected client fails at once instead of queueing the call for later.
    const redis = { storeClient: opts.storeClient, useRedisPackage: opts.useRedisPackage === true, rejectIfRedisNotReady: true };
    return new RateLimiterRedis({ ...config, ...redis });
  }
  return new RateLimiterMemory(config);
}

/**
 * The client IP: with `proxyHops` trusted proxies, the X-Forwarded-For entry
 * the outermost trusted proxy appended (counting from the right: entries to
 * its left are written by the client and could dodge per-IP limits);
 * otherwise the peer address. Undefined when neither is known (per-IP limits
 * are then skipped rather than lumping every client into one shared bucket).
 */
export function clientIpOf(request: Request, info: { clientIp?: string } | undefined, proxyHops: number): string | undefined {
  if (proxyHops > 0) {
    const entries = (request.headers.get("x-forwarded-for") ?? "").split(",").map((entry) => entry.trim());
    const entry = entries[entries.length - proxyHops];
    if (entry !== undefined && entry !== "" && entry.length <= 64) return entry;
  }
  const peer = info?.clientIp;
  return typeof peer === "string" && peer !== "" ? peer.slice(0, 64) : undefined;
}

// Options objects already warned about: one warning per handler setup, even when an adapter and the handler both notice.
const warnedAbout = new WeakSet<object>();

/**
 * Says, once per options object, that per-IP rate limits cannot apply: through
 * `logger.warn` when the logger has one, otherwise console.warn, because a
 * silently skipped limit is how a deployment ends up with none.
 *
 * @example
 * warnNoClientIp(options, "codex-auth: no client IP …");
 */
export function warnNoClientIp(options: { logger?: CodexLogger }, message: string): void {
  if (warnedAbout.has(options)) return;
  warnedAbout.add(options);
  if (typeof options.logger?.warn === "function") safeLogger(options.logger).warn(message);
  else console.warn(message);
}
