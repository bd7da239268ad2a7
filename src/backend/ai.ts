/**
 * `codex-auth/ai`: the Vercel AI SDK on the signed-in user's ChatGPT account.
 * Server-side only; peer dependencies `ai` (6) and `@ai-sdk/openai` (3).
 */
export { createCodexAI, type CodexAI, type CodexAIOptions, type CodexProvider } from "./ai/provider.js";
export { codexErrorOf } from "./ai/api-error.js";
