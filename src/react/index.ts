export { CodexAuth, type CodexAuthProps } from "./CodexAuth.js";
export { useCodexAuth, type CodexAuthApi, type CodexAuthOptions } from "./use-codex-auth.js";
export { DEFAULT_LABELS, type CodexAuthLabels } from "./labels.js";
