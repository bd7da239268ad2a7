// codex-auth/backend/worker: the contract on a fetch runtime (Workers, Deno, Bun), forwarded to your Node backend. Web APIs only.
export { createCodexProxy } from "./adapters/worker.js";
export type { CodexProxy, CodexProxyErrorCode, CodexProxyOptions } from "./adapters/worker.js";
