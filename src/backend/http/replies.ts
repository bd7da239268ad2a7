import type { ErrorBody, ErrorDetails, RunEvent, ServerErrorCode } from "../../contract.js";
import { defaultStatus, isServerErrorCode, type CodexError } from "../core/errors.js";
import { redact } from "../core/redact.js";
import type { Reply } from "./reply.js";

declare const contractBody: unique symbol;

/**
 * A reply whose body is of a contract type (for the NDJSON run: each line).
 * The mark exists for the type checker only: a route declares what it answers,
 * and a body its contract does not allow, or a misspelt field, fails to compile.
 */
export interface TypedReply<Body> extends Reply {
  readonly [contractBody]?: Body;
}

/** An error's wire fields: its code, its message and the details it may show. */
export type ErrorFields = { code: ServerErrorCode; error: string } & ErrorDetails;

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
 * A JSON response with `Cache-Control: no-store`. `Body` comes from where the
 * reply goes (a route's declared answer) or is named, never read off the body,
 * so the body literal is checked field by field against the contract type.
 *
 * @example
 * async function postSession(): Promise<TypedReply<SessionResponse>> {
 *   return jsonReply(200, { ok: true });
 * }
 */
export function jsonReply<Body = never>(status: number, body: NoInfer<Body>, headers?: Record<string, string>): TypedReply<Body> {
  return { status, headers: baseHeaders("application/json; charset=utf-8", headers), body: JSON.stringify(body) };
}

/** A JSON error `{ code, error }`; the message passes through redact(). An error with `retryAfter` (429, 503) gets Retry-After. */
export function errorReply(
  code: ServerErrorCode,
  message: string,
  options: { status?: number; details?: ErrorDetails; headers?: Record<string, string> } = {},
): TypedReply<ErrorBody> {
  // No CodexError here: capturing a stack per refusal was most of the cost of a 429 under a flood.
  const body = errorFields({ code, message, details: options.details ?? {} });
  const headers: Record<string, string> = { ...options.headers };
  if (body.retryAfter !== undefined) headers["retry-after"] = String(body.retryAfter);
  return jsonReply(options.status ?? defaultStatus(code), body, headers);
}

/**
 * The wire fields of an error (a CodexError, or the same three fields): code,
 * redacted message, and the known safe details. A code outside the contract
 * (a plain-JS runner's) becomes INTERNAL.
 */
export function errorFields(error: Pick<CodexError, "code" | "message" | "details">): ErrorFields {
  const code = isServerErrorCode(error.code) ? error.code : "INTERNAL";
  return { code, error: redact(error.message), ...safeDetails(error.details) };
}

/**
 * The details a browser may see, each checked, bounded and redacted; anything
 * else is dropped. Takes unknown values: a runner's event arrives unchecked.
 *
 * @example
 * safeDetails({ retryAfter: 0.2, planType: "plus" }); // { planType: "plus", retryAfter: 1 }
 */
export function safeDetails(source: { readonly [Field in keyof ErrorDetails]?: unknown }): ErrorDetails {
  const details: ErrorDetails = {};
  if (isFiniteNumber(source.resetsAt)) details.resetsAt = source.resetsAt;
  if (typeof source.planType === "string") details.planType = redact(source.planType).slice(0, 64);
  if (Array.isArray(source.models)) {
    details.models = source.models
      .filter((model): model is string => typeof model === "string")
      .slice(0, 50)
      .map((model) => redact(model).slice(0, 100));
  }
  if (isFiniteNumber(source.retryAfter)) details.retryAfter = Math.max(1, Math.ceil(source.retryAfter));
  return details;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The run's streaming NDJSON response (one `RunEvent` per line) with `Cache-Control: no-store`. */
export function ndjsonReply(body: ReadableStream<Uint8Array>, headers?: Record<string, string>): TypedReply<RunEvent> {
  // x-accel-buffering tells nginx-style proxies not to buffer the stream.
  return { status: 200, headers: baseHeaders("application/x-ndjson", { "x-accel-buffering": "no", ...headers }), body };
}
