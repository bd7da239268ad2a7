import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { DEFAULT_BASE_PATH } from "../../contract.js";
import { consoleOncePerKind, type CodexAuditEvent, type CodexLogger } from "./audit.js";
import type { CodexRunner } from "../runners/types.js";
import { createMemoryCoordination, type Coordination } from "../sessions/coordination.js";
import { createMemorySessionStore } from "../sessions/memory-store.js";
import { internalsOf, type LimiterScriptClient } from "../sessions/store-internals.js";
import { createSealer, type SyncSealer } from "../sessions/seal.js";
import type { SessionStore } from "../sessions/types.js";
import { assertStrongSecret } from "./secret-strength.js";

/** Points allowed per window, per key (IP or session). */
export interface RateLimitRule {
  points: number;
  durationSec: number;
}

/** Built-in rate limits; `false` turns them all off (e.g. behind your own limiter). */
export interface RateLimitOptions {
  /** New sessions per client IP (reused sessions do not count); an IPv6 client counts by its /64. Default 60 / 60 s. */
  sessionCreatePerIp?: RateLimitRule;
  /** Default 10 / 60 s. */
  loginStartPerSession?: RateLimitRule;
  /** Default 30 / 60 s. */
  loginStartPerIp?: RateLimitRule;
  /** Default 30 / 60 s. */
  runPerSession?: RateLimitRule;
  /** Default 120 / 60 s. */
  runPerIp?: RateLimitRule;
  /** A rate-limiter-flexible Redis client (node-redis or ioredis) to share limits across processes; memory otherwise. */
  storeClient?: unknown;
  /** Set for node-redis v4+ clients (rate-limiter-flexible's `useRedisPackage`). */
  useRedisPackage?: boolean;
  /**
   * With the Redis session store, the limits count in that Redis (one bucket
   * per client across every instance) unless `storeClient` or `createLimiter`
   * says otherwise. `false` keeps them in each process's memory. Default true.
   */
  useSessionStore?: boolean;
  /** Full control: build any rate-limiter-flexible limiter (Mongo, Postgres, cluster…). Wins over storeClient. */
  createLimiter?: (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;
  /** Deadline of each call to the limiter's store (storeClient, createLimiter) in ms; past it 503 STORE_UNAVAILABLE. Default 1000. */
  callTimeoutMs?: number;
}

/** Which fields of a run request beyond `prompt` the server accepts. Default: prompt only. */
export interface RunPolicy {
  /** `true`: any model name; a list: only those; default: the client may not choose. */
  models?: readonly string[] | boolean;
  /** Accept client-supplied instructions (system prompt). Default false. */
  instructions?: boolean;
  /** Accept a client-supplied conversation history. Default false; `true` means at most 50 messages. */
  history?: boolean | { maxMessages: number };
}

/**
 * Options of `createCodexHandler` (and of every adapter built on it).
 *
 * @example
 * const options: CodexHandlerOptions = {
 *   runner: directRunner(),
 *   cookieSecret: [process.env.COOKIE_SECRET!, process.env.OLD_COOKIE_SECRET!],
 *   allowedOrigins: ["https://app.example"],
 *   rateLimits: { runPerSession: { points: 20, durationSec: 60 } },
 *   onEvent: (event) => audit.write(event),
 * };
 */
export interface CodexHandlerOptions {
  runner: CodexRunner;
  /** ≥ 16 characters, high-entropy, from the environment. An array rotates: the first signs, all verify. */
  cookieSecret: string | readonly string[];
  /** Default `__Host-codex_sid` (secure) or `codex_sid` (secure: false). */
  cookieName?: string;
  cookieOptions?: {
    /** `false` only for local HTTP development: drops `Secure` and the `__Host-` prefix. */
    secure?: boolean;
    /** Cookie lifetime in seconds. Default 7 days (the memory store's absolute timeout). */
    maxAgeSec?: number;
  };
  /** Exact origins (scheme://host[:port]) allowed to call cross-origin with credentials. */
  allowedOrigins?: readonly string[];
  /**
   * Default: a process-local memory store of at most 10,000 sessions (a restart
   * signs everyone out); for other limits pass `createMemorySessionStore({ maxSessions, now })`.
   */
  sessionStore?: SessionStore;
  /** Key for sealing session data at rest; default: derived from cookieSecret with HKDF. */
  sealKey?: string | Uint8Array;
  /**
   * How many sessions' opened (decrypted) data this process keeps, keyed by
   * the exact sealed bytes, so a page that polls is not decrypted on every
   * request. The store still holds only sealed data. Default 512; 0 turns it off.
   */
  openedCacheSize?: number;
  /** Default `/api/codex`. */
  basePath?: string;
  limits?: {
    /** Default 64 KiB. */
    maxBodyBytes?: number;
    /** Default 32,000 characters. */
    maxPromptChars?: number;
    /** How long an id rotated away answers 409 instead of "logged out". Default 60 s. */
    rotationGraceMs?: number;
    /** How long a request body may take to arrive, in ms; then 408 BODY_TIMEOUT. Default 10 s. */
    bodyTimeoutMs?: number;
    /**
     * How long a run's next event may wait for a client that stopped reading, in
     * ms; then the run is aborted and its lock released. Default 30 s.
     */
    writeTimeoutMs?: number;
  };
  rateLimits?: false | RateLimitOptions;
  /**
   * Read the client IP from X-Forwarded-For. Only behind proxies you control:
   * `true` (one proxy) takes the entry that proxy appended (the last); a number
   * N counts N trusted hops from the right. Entries further left are client-written.
   */
  trustProxy?: boolean | number;
  runPolicy?: RunPolicy;
  /**
   * Where setup problems (no client IP, a body parser in front, Secure cookies
   * on plain HTTP) and upstream failures (a login that cannot start or poll)
   * are logged, redacted. Default: the console, each kind of line once.
   */
  logger?: CodexLogger;
  /** Audit hook: logins, logouts, runs, rejections. Events carry no token and no session id. */
  onEvent?: (event: CodexAuditEvent) => void;
  /** Clock in epoch ms (session creation times, audit events; the default store uses it too). Default `Date.now`. */
  now?: () => number;
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  runner: CodexRunner;
  secrets: readonly string[];
  cookieName: string;
  secure: boolean;
  maxAgeSec: number;
  allowedOrigins: ReadonlySet<string>;
  store: SessionStore;
  /** The store's holds (run lease, refresh lock, poll slots); a process-local one for a store without its own. */
  coordination: Coordination;
  /** The store's script client for the rate limits, when it is shared (Redis). */
  storeLimiterClient: LimiterScriptClient | undefined;
  sealer: SyncSealer;
  basePath: string;
  maxBodyBytes: number;
  maxPromptChars: number;
  rotationGraceMs: number;
  bodyTimeoutMs: number;
  writeTimeoutMs: number;
  /** Trusted proxy hops in front of the app; 0 ignores X-Forwarded-For. */
  trustProxy: number;
  runPolicy: RunPolicy;
  /** The `logger` option, or the console (each kind of line once). */
  logger: CodexLogger;
  now: () => number;
}

/** Validates options (throws a clear TypeError at construction) and fills defaults. */
export function resolveOptions(options: CodexHandlerOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new TypeError("createCodexHandler: options are required");
  const { runner } = options;
  if (runner === null || typeof runner !== "object" || typeof runner.run !== "function") {
    throw new TypeError("createCodexHandler: `runner` must be a CodexRunner");
  }
  const secrets = typeof options.cookieSecret === "string" ? [options.cookieSecret] : [...(options.cookieSecret ?? [])];
  if (secrets.length === 0) throw new TypeError("createCodexHandler: `cookieSecret` is required");
  secrets.forEach((secret, i) => assertStrongSecret(secret, secrets.length > 1 ? `cookieSecret[${i}]` : "cookieSecret"));

  const secure = options.cookieOptions?.secure ?? true;
  const cookieName = options.cookieName ?? (secure ? "__Host-codex_sid" : "codex_sid");
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new TypeError("createCodexHandler: invalid `cookieName`");
  if (!secure && cookieName.startsWith("__Host-")) {
    throw new TypeError("createCodexHandler: a `__Host-` cookie needs `secure: true` (browsers drop it otherwise)");
  }

  const allowedOrigins = new Set<string>();
  for (const origin of options.allowedOrigins ?? []) {
    if (origin === "*" || origin === "null") throw new TypeError(`createCodexHandler: allowedOrigins may not contain "${origin}"`);
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new TypeError(`createCodexHandler: allowedOrigins entry is not an origin: ${origin}`);
    }
    if (parsed.origin !== origin) throw new TypeError(`createCodexHandler: allowedOrigins entry must be exactly scheme://host[:port]: ${origin}`);
    allowedOrigins.add(origin);
  }

  const now = options.now ?? Date.now;
  const basePath = normaliseBasePath(options.basePath ?? DEFAULT_BASE_PATH);
  const openedCacheSize = options.openedCacheSize ?? 512;
  if (!Number.isInteger(openedCacheSize) || openedCacheSize < 0) {
    throw new TypeError("createCodexHandler: `openedCacheSize` must be a whole number ≥ 0");
  }
  const sealer =
    options.sealKey === undefined
      ? createSealer({ secret: secrets, openedCacheSize })
      : typeof options.sealKey === "string"
        ? createSealer({ secret: options.sealKey, openedCacheSize })
        : createSealer({ key: options.sealKey, openedCacheSize });

  // The default store shares the handler's clock: createdAt and expiry must agree.
  const store = options.sessionStore ?? createMemorySessionStore({ now });
  const internals = internalsOf(store);
  return {
    runner,
    secrets,
    cookieName,
    secure,
    maxAgeSec: positive(options.cookieOptions?.maxAgeSec, 7 * 24 * 60 * 60, "cookieOptions.maxAgeSec"),
    allowedOrigins,
    store,
    coordination: internals?.coordination ?? createMemoryCoordination(),
    storeLimiterClient: internals?.limiterClient,
    sealer,
    basePath,
    maxBodyBytes: positive(options.limits?.maxBodyBytes, 64 * 1024, "limits.maxBodyBytes"),
    maxPromptChars: positive(options.limits?.maxPromptChars, 32_000, "limits.maxPromptChars"),
    rotationGraceMs: positive(options.limits?.rotationGraceMs, 60_000, "limits.rotationGraceMs"),
    bodyTimeoutMs: positive(options.limits?.bodyTimeoutMs, 10_000, "limits.bodyTimeoutMs"),
    writeTimeoutMs: positive(options.limits?.writeTimeoutMs, 30_000, "limits.writeTimeoutMs"),
    trustProxy: proxyHops(options.trustProxy),
    runPolicy: options.runPolicy ?? {},
    logger: options.logger ?? consoleOncePerKind(),
    now,
  };
}

function proxyHops(value: boolean | number | undefined): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return 1;
  if (!Number.isInteger(value) || value < 0) throw new TypeError("createCodexHandler: `trustProxy` must be a boolean or a hop count");
  return value;
}

function normaliseBasePath(path: string): string {
  if (typeof path !== "string" || !path.startsWith("/")) throw new TypeError("createCodexHandler: `basePath` must start with /");
  return path.replace(/\/+$/, "");
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`createCodexHandler: \`${name}\` must be a positive number`);
  return value;
}
