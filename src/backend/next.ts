// codex-auth/backend/next: the contract as Next.js App Router route handlers.
export { createCodexRouteHandlers } from "./adapters/next.js";
export type { CodexRouteHandler, CodexRouteHandlers } from "./adapters/next.js";
