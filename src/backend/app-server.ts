/** `codex-auth/backend/app-server`: the runner on the official `codex app-server` (Node only). */
export { appServerRunner } from "./runners/app-server/runner.js";
export type { AppServerRunner } from "./runners/app-server/runner.js";
export type { AppServerRunnerOptions, AppServerRunnerTimeouts } from "./runners/app-server/options.js";
export type { CommandWrapper } from "./runners/codex-command.js";
