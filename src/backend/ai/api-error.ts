import { APICallError } from "ai";
import type { ErrorBody } from "../../contract.js";
import { CodexError } from "../core/errors.js";
import { errorFields } from "../http/replies.js";

/** Where our errors say they came from: the provider's fetch never reaches a URL of its own. */
const URL = "codex-auth:responses";

/**
 * A failure of ours as the AI SDK's own error: an `APICallError` whose `data`
 * is the contract's error body (`code`, `error`, and details such as
 * `resetsAt`), never retried by the SDK (the runner already retried what can be).
 */
export function toApiCallError(error: unknown): APICallError {
  const codexError = error instanceof CodexError ? error : new CodexError("INTERNAL", "Internal error.");
  const body: ErrorBody = { ok: false, ...errorFields(codexError) };
  return new APICallError({
    message: body.error,
    url: URL,
    requestBodyValues: undefined,
    statusCode: codexError.status,
    responseBody: JSON.stringify(body),
    isRetryable: false,
    data: body,
  });
}

/**
 * The contract's error body carried by an error from a `codex-auth/ai` call
 * (an APICallError of ours, inside the SDK's RetryError too, or a CodexError
 * from `providerFor`); undefined for anything else.
 *
 * @example
 * const result = streamText({ model, messages });
 * return result.toUIMessageStreamResponse({ onError: (error) => codexErrorOf(error)?.error ?? "Something went wrong." });
 */
export function codexErrorOf(error: unknown): ErrorBody | undefined {
  if (error instanceof CodexError) return { ok: false, ...errorFields(error) };
  if (APICallError.isInstance(error)) {
    const data = error.data as Partial<ErrorBody> | undefined;
    return error.url === URL && data?.ok === false && typeof data.code === "string" ? (data as ErrorBody) : undefined;
  }
  const inner = (error as { lastError?: unknown; cause?: unknown } | null)?.lastError ?? (error as { cause?: unknown } | null)?.cause;
  return inner === undefined || inner === error ? undefined : codexErrorOf(inner);
}
