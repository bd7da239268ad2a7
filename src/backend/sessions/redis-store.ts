import { storageKey } from "./key.js";
import { CREATE, DELETE, GET, ROTATE, SAVE, type LuaScript } from "./redis-scripts.js";
import { createStoreDeadline } from "./store-deadline.js";
import type { SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./types.js";

/** Script options in the shape node-redis (v4 and v5) takes them. */
export interface RedisScriptOptions {
  keys: string[];
  arguments: string[];
}

/**
 * The two Redis calls this store makes. A node-redis v4/v5 client (`createClient()`,
 * connected) fits as is; for another client, wrap its EVAL/EVALSHA in these two functions.
 */
export interface RedisScriptClient {
  eval(script: string, options: RedisScriptOptions): Promise<unknown>;
  evalSha(sha1: string, options: RedisScriptOptions): Promise<unknown>;
}

/** Options of the Redis store. */
export interface RedisSessionStoreOptions extends SessionTimeouts {
  /** A connected client; the store never connects, quits or selects a database. */
  client: RedisScriptClient;
  /** Prefix of every key. Default `"codex-auth:session:"`. */
  prefix?: string;
  /** Clock in epoch ms that decides expiry; inject one in tests. Default `Date.now`. */
  now?: () => number;
  /** Extra time Redis keeps a key past its deadline (PEXPIRE is a backstop; the clock decides). Default 60 s. */
  expirySlackMs?: number;
  /** Deadline of each Redis call in ms; past it (or with Redis down) the request gets 503 STORE_UNAVAILABLE. Default 1000. */
  callTimeoutMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

/**
 * A shared session store on Redis, for more than one process. Each operation is
 * one Lua script (atomic on the server): rotate has exactly one winner however
 * many processes race it. Keys are SHA-256 of the id under `prefix`; values are
 * small hashes of sealed data and times; every key carries a PEXPIRE backstop.
 * Needs a standalone Redis (or a Sentinel primary): rotate touches two random keys,
 * which Redis Cluster would put in different slots.
 *
 * @example
 * import { createClient } from "redis";
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const sessionStore = createRedisSessionStore({ client });
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { client } = options;
  const prefix = options.prefix ?? "codex-auth:session:";
  const now = options.now ?? Date.now;
  const idle = options.idleTimeoutMs ?? DAY_MS;
  const pendingIdle = Math.min(options.pendingIdleTimeoutMs ?? 15 * MINUTE_MS, idle);
  const absolute = options.absoluteTimeoutMs ?? 7 * DAY_MS;
  const slack = options.expirySlackMs ?? 60_000;
  const keyOf = (id: string): string => prefix + storageKey(id);
  const clockArgs = (at: number): string[] => [String(at), String(idle), String(absolute), String(slack), String(pendingIdle)];

  // Every Redis call goes through `send`, under a deadline (store-deadline.ts): 503 STORE_UNAVAILABLE, never a hang.
  const deadline = createStoreDeadline({ timeoutMs: options.callTimeoutMs, client });
  const call = (lua: LuaScript, keys: string[], args: string[]): Promise<unknown> => deadline.run((signal) => send(lua, keys, args, signal));
  const send = async (lua: LuaScript, keys: string[], args: string[], signal: AbortSignal): Promise<unknown> => {
    const opts = { keys, arguments: args };
    try {
      return await client.evalSha(lua.sha, opts);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH / a restart): send the source once, unless past the deadline.
      if (!isNoScript(error) || signal.aborted) throw error;
      return client.eval(lua.source, opts);
    }
  };

  return {
    async create(id: string, session: StoredSession): Promise<void> {
      const signedIn = session.authenticated === true ? "1" : "0";
      await call(CREATE, [keyOf(id)], [...clockArgs(now()), String(session.createdAt), session.data, signedIn]);
    },

    async get(id: string): Promise<SessionLookup> {
      const reply = await call(GET, [keyOf(id)], clockArgs(now()));
      if (reply === null || reply === undefined) return { state: "missing" };
      if (reply === "rotated") return { state: "rotated" };
      if (Array.isArray(reply) && typeof reply[0] === "string" && reply.length === 2) {
        const createdAt = Number(reply[1]);
        if (Number.isFinite(createdAt)) return { state: "active", session: { data: reply[0], createdAt } };
      }
      throw new Error("redis session store: unexpected reply to GET script");
    },

    async save(id: string, session: StoredSession): Promise<void> {
      const signedIn = session.authenticated === undefined ? "" : session.authenticated ? "1" : "0";
      await call(SAVE, [keyOf(id)], [...clockArgs(now()), session.data, signedIn]);
    },

    async rotate(oldId: string, newId: string, graceMs: number): Promise<boolean> {
      const at = now();
      const grace = Math.max(0, Math.floor(graceMs));
      const args = [...clockArgs(at), String(at + grace), String(grace + slack)];
      const reply = await call(ROTATE, [keyOf(oldId), keyOf(newId)], args);
      return Number(reply) === 1;
    },

    async delete(id: string): Promise<void> {
      await call(DELETE, [keyOf(id)], []);
    },
  };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
