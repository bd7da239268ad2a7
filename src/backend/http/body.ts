import { CodexError } from "../core/errors.js";
import { asRecord } from "../core/json.js";

/** True for `application/json` and `application/<x>+json`, any parameters. */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Set by an adapter, on the info it passes with a request, when its HTTP server frames the body itself (Node's
 * parser ends a body at its Content-Length): the declared length can then be trusted. Not a field of
 * CodexRequestInfo, because a hand-made Request can declare one length and stream more; a `Symbol.for` key, so
 * that the package's ESM and CommonJS copies agree.
 */
export const FRAMED_BODY: unique symbol = Symbol.for("codex-auth.framedBody");
export interface FramedBodyInfo {
  [FRAMED_BODY]?: boolean;
}

/**
 * Reads a request body as UTF-8 text, counting bytes as they stream in: a
 * declared Content-Length over the limit is refused before reading, and a body
 * that grows past the limit (chunked, or lying about its length) is cancelled.
 * A body not complete within `timeoutMs` (trickled, or shorter than declared)
 * is cancelled too, so a slow client cannot hold the request open.
 *
 * With `framed` (the server ended the body at its declared length, see FRAMED_BODY) a body within the limit is
 * read whole with `arrayBuffer()`: Node's light Request then reads it straight off the socket instead of building
 * a Web stream first, about 0.4 ms of the relay bench's time to first text row. The deadline still applies.
 *
 * @example
 * const text = await readBoundedText(request, 64 * 1024, 10_000); // throws CodexError("BODY_TOO_LARGE" | "BODY_TIMEOUT")
 */
export async function readBoundedText(request: Request, maxBytes: number, timeoutMs: number, framed = false): Promise<string> {
  const declared = request.headers.get("content-length");
  const length = declared !== null && /^\d+$/.test(declared.trim()) ? Number(declared) : undefined;
  if (length !== undefined && length > maxBytes) throw tooLarge(maxBytes);
  const deadline = new Deadline(timeoutMs);
  let bytes: Uint8Array;
  try {
    bytes = framed && length !== undefined ? await readWhole(request, deadline) : await readCounted(request, maxBytes, deadline);
  } catch (error) {
    if (error instanceof CodexError) throw error;
    throw new CodexError("BAD_REQUEST", "The request body could not be read.", { cause: error });
  } finally {
    deadline.clear();
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CodexError("BAD_JSON", "The request body is not valid UTF-8.");
  }
}

/** A timer that rejects `late` with BODY_TIMEOUT. */
class Deadline {
  readonly late: Promise<never>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(timeoutMs: number) {
    this.late = new Promise<never>((_, reject) => {
      this.#timer = setTimeout(() => reject(new CodexError("BODY_TIMEOUT", `The request body did not arrive within ${timeoutMs} ms.`)), timeoutMs);
    });
    this.late.catch(() => undefined);
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
}

async function readWhole(request: Request, deadline: Deadline): Promise<Uint8Array> {
  const whole = request.arrayBuffer();
  // After a timeout it settles when the adapter closes the connection; nobody waits for it then.
  whole.catch(() => undefined);
  return new Uint8Array(await Promise.race([whole, deadline.late]));
}

async function readCounted(request: Request, maxBytes: number, deadline: Deadline): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), deadline.late]);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CodexError && error.code === "BODY_TIMEOUT") void reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Reads and parses a JSON object body; BAD_JSON for anything that is not JSON, BAD_REQUEST for a non-object. */
export async function readJsonObject(request: Request, maxBytes: number, timeoutMs: number, framed = false): Promise<Record<string, unknown>> {
  const text = await readBoundedText(request, maxBytes, timeoutMs, framed);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CodexError("BAD_JSON", "The request body is not valid JSON.");
  }
  const object = asRecord(value);
  if (object === undefined) throw new CodexError("BAD_REQUEST", "The request body must be a JSON object.");
  return object;
}

function tooLarge(maxBytes: number): CodexError {
  return new CodexError("BODY_TOO_LARGE", `The request body is larger than ${maxBytes} bytes.`);
}
