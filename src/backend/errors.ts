import type { ServerErrorCode } from "../contract.js";

/** Fields an error may carry onto the wire besides its code and message. */
export interface CodexErrorDetails {
  resetsAt?: number;
  planType?: string;
  models?: string[];
  retryAfter?: number;
}

/**
 * A typed error with a stable code. Runners and the handler throw these; the
 * handler turns them into `{ code, error }` JSON or an `error` stream event.
 * The message must already be safe for the browser (redacted, no token).
 */
export class CodexError extends Error {
  override readonly name = "CodexError";
  readonly code: ServerErrorCode;
  readonly status: number;
  readonly details: CodexErrorDetails;

  constructor(
    code: ServerErrorCode,
    message: string,
    options: { status?: number; details?: CodexErrorDetails; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? defaultStatus(code);
    this.details = options.details ?? {};
  }
}

/** The HTTP status a code maps to when nothing more specific is known. */
export function defaultStatus(code: ServerErrorCode): number {
  switch (code) {
    case "BAD_JSON":
    case "BAD_REQUEST":
      return 400;
    case "NO_SESSION":
    case "NOT_AUTHENTICATED":
      return 401;
    case "CSRF_REJECTED":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "METHOD_NOT_ALLOWED":
      return 405;
    case "SESSION_ROTATED":
      return 409;
    case "LOGIN_EXPIRED":
    case "LOGIN_DENIED":
      return 410;
    case "BODY_TIMEOUT":
      return 408;
    case "BODY_TOO_LARGE":
    case "PROMPT_TOO_LONG":
      return 413;
    case "UNSUPPORTED_MEDIA_TYPE":
      return 415;
    case "RATE_LIMITED":
    case "RUN_IN_PROGRESS":
    case "USAGE_LIMIT":
      return 429;
    case "DEVICE_AUTH_NOT_ENABLED":
    case "USAGE_NOT_INCLUDED":
    case "MODEL_NOT_AVAILABLE":
      return 403;
    case "UPSTREAM_BLOCKED":
    case "UPSTREAM_UNAVAILABLE":
    case "RUN_FAILED":
      return 502;
    case "UPSTREAM_TIMEOUT":
      return 504;
    case "RUN_ABORTED":
      return 499;
    case "INTERNAL":
      return 500;
  }
}
