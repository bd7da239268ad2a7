// codex-auth/backend: the Web-standard handler, its adapters, the memory store and the types.
export { createCodexHandler, handleCodexRequest } from "./core/handler.js";
export type { CodexHandler, CodexRequestInfo } from "./core/handler.js";
export type { CodexHandlerOptions, RateLimitOptions, RateLimitRule, RunPolicy } from "./core/options.js";
export type { CodexAuditEvent, CodexAuditEventType, CodexLogger } from "./core/audit.js";
export { CodexError, defaultStatus } from "./core/errors.js";
export type { CodexErrorDetails } from "./core/errors.js";
export type {
  CodexRunner,
  DeviceLoginResult,
  RunnerContext,
  RunnerStatus,
  RunOptions,
  SessionData,
} from "./runners/types.js";
export { redact } from "./core/redact.js";
export { createMemorySessionStore } from "./sessions/memory-store.js";
export type { MemorySessionStore, MemorySessionStoreOptions } from "./sessions/memory-store.js";
export type { SaveOptions, SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./sessions/types.js";
export type { Coordination } from "./sessions/coordination.js";
export { createCodexRouter } from "./adapters/express.js";
export { createNodeHandler, toNodeListener } from "./adapters/node.js";
// The contract's constants are values: `export type *` alone would declare them without exporting them.
export { DEFAULT_BASE_PATH, NDJSON_CONTENT_TYPE, ROUTES } from "../contract.js";
export type * from "../contract.js";
