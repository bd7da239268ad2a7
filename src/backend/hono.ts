// codex-auth/backend/hono: the contract as Hono middleware.
export { codexHono } from "./adapters/hono.js";
