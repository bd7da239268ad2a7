import type { ErrorBody, ServerErrorCode } from "../contract.js";
import { CodexError, type CodexErrorDetails } from "./errors.js";
import { redact } from "./redact.js";
import type { Reply } from "./reply.js";

/** Headers every contract response carries, as a plain record. */
function baseHeaders(contentType: string, extra: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": contentType,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
  if (extra !== undefined) for (const name in extra) headers[name.toLowerCase()] = extra[name] as string;
  return headers;
}

/**
 * A JSON response with `Cache-Control: no-store`.
 *
 * @example
 * jsonReply(200, { ok: true });
 */
export function jsonReply(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, headers: baseHeaders("application/json; charset=utf-8", headers), body: JSON.stringify(body) };
}

/** A JSON error `{ code, error }`; the message passes through redact(). 429s get Retry-After. */
export function errorReply(
  code: ServerErrorCode,
  message: string,
  options: { status?: number; details?: CodexErrorDetails; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): Reply {
  const error = new CodexError(code, redact(message), { status: options.status, details: options.details });
  const body: ErrorBody & Record<string, unknown> = { ...options.extra, ...errorFields(error) };
  const headers: Record<string, string> = { ...options.headers };
  if (body.retryAfter !== undefined) headers["retry-after"] = String(body.retryAfter);
  return jsonReply(error.status, body, headers);
}

/** The wire fields of a CodexError: code, redacted message, and the known safe details. */
export function errorFields(error: CodexError): ErrorBody & Record<string, unknown> {
  const body: ErrorBody & Record<string, unknown> = { code: error.code, error: redact(error.message) };
  const { resetsAt, planType, models, retryAfter } = error.details;
  if (typeof resetsAt === "number" && Number.isFinite(resetsAt)) body.resetsAt = resetsAt;
  if (typeof planType === "string") body.planType = redact(planType).slice(0, 64);
  if (Array.isArray(models)) body.models = models.filter((m) => typeof m === "string").slice(0, 50).map((m) => redact(m).slice(0, 100));
  if (typeof retryAfter === "number" && Number.isFinite(retryAfter)) body.retryAfter = Math.max(1, Math.ceil(retryAfter));
  return body;
}

/** A streaming NDJSON response with `Cache-Control: no-store`. */
export function ndjsonReply(body: ReadableStream<Uint8Array>, headers?: Record<string, string>): Reply {
  // x-accel-buffering tells nginx-style proxies not to buffer the stream.
  return { status: 200, headers: baseHeaders("application/x-ndjson", { "x-accel-buffering": "no", ...headers }), body };
}
