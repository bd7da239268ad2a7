export { createCodexClient } from "./client.js";
export { isAllowedLoginUrl } from "./login-url.js";
export type {
  CodexClient,
  CodexClientConfig,
  CodexClientError,
  CodexState,
  CodexStatus,
  MarkerStorage,
  RunHandle,
  RunHandlers,
} from "./types.js";
export type { Account, ErrorCode, RunRequest, Usage } from "../contract.js";
