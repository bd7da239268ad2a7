import type { ErrorBody, ErrorCode, ErrorEvent } from "../contract.js";
import type { CodexClientError } from "./types.js";
import { numberOrUndefined, stringOrUndefined, type Unchecked } from "./wire.js";

/**
 * Builds a client error from an error answer or a run's error event (arriving
 * as `unknown`, narrowed field by field), or from a code alone. An error
 * without a message carries its code as the message: UIs word errors per code
 * (the default UI's `labels` do).
 * @example toError(await response.json(), "BAD_RESPONSE")
 * @example toError(undefined, "NETWORK") // { code: "NETWORK", message: "NETWORK" }
 */
export function toError(body: unknown, fallback: ErrorCode): CodexClientError {
  // Fields both shapes declare: a rename on either side fails to compile here.
  const error = body as Unchecked<ErrorBody | ErrorEvent>;
  // A code this client does not know yet is kept: the UI then shows the server's message.
  const code = (stringOrUndefined(error?.code) as ErrorCode | undefined) ?? fallback;
  return {
    code,
    // A gateway may answer `{ error: { message } }`: only a string becomes the message.
    message: stringOrUndefined(error?.error) ?? code,
    resetsAt: numberOrUndefined((body as Unchecked<ErrorEvent>)?.resetsAt),
    // The server mirrors Retry-After into the body, so the header is not read.
    retryAfter: numberOrUndefined(error?.retryAfter),
  };
}
