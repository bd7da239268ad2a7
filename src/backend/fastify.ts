// codex-auth/backend/fastify: the contract as a Fastify plugin.
export { codexFastify } from "./adapters/fastify.js";
export type { CodexFastifyOptions } from "./adapters/fastify.js";
