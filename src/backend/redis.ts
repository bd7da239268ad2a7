export { createRedisSessionStore } from "./sessions/redis-store.js";
export type { RedisScriptClient, RedisScriptOptions, RedisSessionStoreOptions } from "./sessions/redis-store.js";
export type { SaveOptions, SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./sessions/types.js";
