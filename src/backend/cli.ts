/** `codex-auth/backend/cli`: the runner that drives the official codex CLI (Node only). */
export { cliRunner } from "./runners/cli/runner.js";
export type { CliRunner } from "./runners/cli/runner.js";
export { sanitizeCliText } from "./runners/cli/stderr.js";
export type { CliRunnerOptions, CliRunnerTimeouts, CommandWrapper } from "./runners/cli/options.js";
