import { SERVER_ERROR_CODES, type ErrorDetails, type ServerErrorCode } from "../../contract.js";

/** Fields an error may carry onto the wire besides its code and message (the contract's `ErrorDetails`). */
export type CodexErrorDetails = ErrorDetails;

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

// A Record over every code: a code added to the contract without a status here fails to compile.
const STATUS_OF_CODE: Readonly<Record<ServerErrorCode, number>> = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  NO_SESSION: 401,
  NOT_AUTHENTICATED: 401,
  CSRF_REJECTED: 403,
  DEVICE_AUTH_NOT_ENABLED: 403,
  USAGE_NOT_INCLUDED: 403,
  MODEL_NOT_AVAILABLE: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TIMEOUT: 408,
  SESSION_ROTATED: 409,
  LOGIN_EXPIRED: 410,
  LOGIN_DENIED: 410,
  BODY_TOO_LARGE: 413,
  PROMPT_TOO_LONG: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  RUN_IN_PROGRESS: 429,
  USAGE_LIMIT: 429,
  RUN_ABORTED: 499,
  INTERNAL: 500,
  UPSTREAM_BLOCKED: 502,
  UPSTREAM_UNAVAILABLE: 502,
  RUN_FAILED: 502,
  STORE_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
};

const SERVER_CODES: ReadonlySet<string> = new Set(SERVER_ERROR_CODES);

/**
 * True when `code` is one of the contract's server error codes.
 *
 * @example
 * isServerErrorCode("USAGE_LIMIT"); // true
 */
export function isServerErrorCode(code: unknown): code is ServerErrorCode {
  return typeof code === "string" && SERVER_CODES.has(code);
}

/**
 * The HTTP status a code maps to when nothing more specific is known.
 *
 * @example
 * defaultStatus("RATE_LIMITED"); // 429
 */
export function defaultStatus(code: ServerErrorCode): number {
  // A plain-JS caller may pass any string; "constructor" must not find Object.prototype's.
  return isServerErrorCode(code) ? STATUS_OF_CODE[code] : 500;
}
