import { CodexError } from "../core/errors.js";
import { asRecord } from "../core/json.js";

/** True for `application/json` and `application/<x>+json`, any parameters. */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Reads a request body as UTF-8 text, counting bytes as they stream in: a
 * declared Content-Length over the limit is refused before reading, and a body
 * that grows past the limit (chunked, or lying about its length) is cancelled.
 * A body not complete within `timeoutMs` (trickled, or shorter than declared)
 * is cancelled too, so a slow client cannot hold the request open.
 *
 * @example
 * const text = await readBoundedText(request, 64 * 1024, 10_000); // throws CodexError("BODY_TOO_LARGE" | "BODY_TIMEOUT")
 */
export async function readBoundedText(request: Request, maxBytes: number, timeoutMs: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CodexError("BODY_TIMEOUT", `The request body did not arrive within ${timeoutMs} ms.`)), timeoutMs);
  });
  late.catch(() => undefined);
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), late]);
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CodexError) {
      if (error.code === "BODY_TIMEOUT") void reader.cancel().catch(() => undefined);
      throw error;
    }
    throw new CodexError("BAD_REQUEST", "The request body could not be read.", { cause: error });
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CodexError("BAD_JSON", "The request body is not valid UTF-8.");
  }
}

/** Reads and parses a JSON object body; BAD_JSON for anything that is not JSON, BAD_REQUEST for a non-object. */
export async function readJsonObject(request: Request, maxBytes: number, timeoutMs: number): Promise<Record<string, unknown>> {
  const text = await readBoundedText(request, maxBytes, timeoutMs);
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
