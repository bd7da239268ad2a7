import { storageKey } from "./key.js";
import { createRedisCoordination, limiterClientOver } from "./redis-coordination.js";
import {
  CREATE,
  DELETE,
  DELETE_MARKER,
  GET,
  ROTATE_CLAIM,
  ROTATE_PLACE,
  ROTATE_UNDO,
  SAVE,
  type LuaScript,
} from "./redis-scripts.js";
import { withInternals } from "./store-internals.js";
import { createStoreDeadline } from "./store-deadline.js";
import type { SaveOptions, SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./types.js";

/** Script options in the shape node-redis (v4 and v5) takes them. */
export interface RedisScriptOptions {
  keys: string[];
  arguments: string[];
}

/**
 * The two Redis calls this store makes (for its sessions, and for the run
 * leases, refresh locks, poll slots and rate limits handlers share through it).
 * A node-redis v4/v5 client (`createClient()`, connected) fits as is; for
 * another client, wrap its EVAL/EVALSHA in these two functions.
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
 * A shared session store on Redis, for more than one process. Every script
 * touches one key (atomic on the server, and fine on Redis Cluster): rotate
 * claims the old key first, so it has exactly one winner however many
 * processes race it; saves are compare-and-set on the sealed data. Keys are
 * SHA-256 of the id under `prefix`; values are small hashes of sealed data and
 * times; every key carries a PEXPIRE backstop. Handlers on this store also
 * coordinate through it (run lease, refresh lock, poll slots, rate limits).
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

  // Every Redis call (the store's, the coordination's, the rate limits') goes through `send`, under a deadline
  // (store-deadline.ts): 503 STORE_UNAVAILABLE, never a hang.
  const deadline = createStoreDeadline({ timeoutMs: options.callTimeoutMs, client });
  const call: ScriptCall = (lua, keys, args) => deadline.run((signal) => send(lua, keys, args, signal));
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

  const store: SessionStore = {
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

    async save(id: string, session: StoredSession, saveOptions?: SaveOptions): Promise<boolean> {
      const signedIn = session.authenticated === undefined ? "" : session.authenticated ? "1" : "0";
      const expected = saveOptions?.expected;
      const compare = expected === undefined ? ["0", ""] : ["1", expected];
      const reply = await call(SAVE, [keyOf(id)], [...clockArgs(now()), session.data, signedIn, ...compare]);
      return Number(reply) === 1;
    },

    async rotate(oldId: string, newId: string, graceMs: number): Promise<boolean> {
      const oldKey = keyOf(oldId);
      const newKey = keyOf(newId);
      if (oldKey === newKey) return false;
      const at = now();
      const grace = Math.max(0, Math.floor(graceMs));
      // Step 1, on the old key alone: exactly one caller claims the session (the key becomes its marker).
      const claimed = await call(ROTATE_CLAIM, [oldKey], [...clockArgs(at), String(at + grace), String(grace + slack)]);
      if (!Array.isArray(claimed) || claimed.length !== 4) return false;
      const [data, createdAt, flag, link] = claimed.map(String) as [string, string, string, string];
      // Step 2, on the new key alone. The new session links back to the marker, so a logout ends both.
      const placeArgs = (moveLink: string): string[] => [...clockArgs(at), data, createdAt, flag, moveLink];
      const placed = await call(ROTATE_PLACE, [newKey], placeArgs(grace > 0 ? oldKey : ""));
      if (Number(placed) === 1) return true;
      // The new id is taken (a caller's mistake; fresh ids never collide): the session goes back where it was.
      await call(ROTATE_UNDO, [oldKey], placeArgs(link));
      return false;
    },

    async delete(id: string): Promise<void> {
      const link = await call(DELETE, [keyOf(id)], []);
      if (typeof link === "string" && link !== "") await call(DELETE_MARKER, [link], []);
    },
  };
  return withInternals(store, {
    coordination: createRedisCoordination(call, `${prefix}hold:`),
    limiterClient: limiterClientOver(call),
  });
}

/** One Redis call of the store: EVALSHA, with EVAL once the server does not know the script. */
export type ScriptCall = (lua: LuaScript, keys: string[], args: string[]) => Promise<unknown>;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
