export { createRedisSessionStore } from "./sessions/redis-store.js";
export type { RedisScriptClient, RedisScriptOptions, RedisSessionStoreOptions } from "./sessions/redis-store.js";
export type { SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./sessions/types.js";
