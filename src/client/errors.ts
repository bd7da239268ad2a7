import type { ErrorCode } from "../contract.js";
import type { CodexClientError } from "./types.js";

/**
 * Builds a client error from a server body (arriving as `unknown`, narrowed
 * field by field) or from a code alone. Client-side errors carry their code as
 * the message: UIs word them per code (the default UI's `labels` do).
 * @example toError(await res.json(), "BAD_RESPONSE")
 */
export function toError(body: unknown, fallback: ErrorCode): CodexClientError {
  const b = (body ?? {}) as Record<string, any>;
  // A gateway may answer `{ error: { ... } }`: only strings become code and message.
  const code = (typeof b.code == "string" ? b.code : fallback) as ErrorCode;
  // Numbers or nothing; the server mirrors Retry-After into the body, so the header is not read.
  const num = (v: unknown) => (typeof v == "number" ? v : undefined);
  return { code, message: typeof b.error == "string" ? b.error : code, resetsAt: num(b.resetsAt), retryAfter: num(b.retryAfter) };
}
