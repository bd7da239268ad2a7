/** `codex-auth/backend/direct`: the fetch-based runner. */
export { directRunner } from "./runners/direct/runner.js";
export {
  CODEX_CLIENT_ID,
  DEFAULT_BACKEND_BASE_URL,
  DEFAULT_INSTRUCTIONS,
  DEFAULT_ISSUER,
} from "./runners/direct/options.js";
export type { DirectRunnerOptions, DirectRunnerTimeouts, ReasoningEffort } from "./runners/direct/options.js";
