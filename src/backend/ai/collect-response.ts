import { createParser } from "eventsource-parser";
import { asRecord } from "../core/json.js";
import { CodexError } from "../core/errors.js";
import { parseJson } from "../runners/direct/http.js";
import { interpret } from "../runners/direct/sse.js";

/** A non-streamed answer is small; a stream that grows past this is cut off as a failure. */
const MAX_EVENTS_BYTES = 8 * 1024 * 1024;

/**
 * Reads a streamed Responses answer to its end and returns the final response
 * object (`response.completed`), which is exactly the body of a non-streamed
 * answer: the Codex backend only streams, the AI SDK's generateText asks for JSON.
 * Throws CodexError when the stream fails or ends without completing; which
 * event ends it, and how a failure maps to a code, is the runner's own reading
 * of the stream (`interpret`).
 */
export async function collectResponse(body: ReadableStream<Uint8Array>): Promise<Record<string, unknown>> {
  let completed: Record<string, unknown> | undefined;
  let failure: CodexError | undefined;
  const parser = createParser({
    onEvent(event) {
      const { final } = interpret(event);
      if (final instanceof CodexError) failure = final;
      else if (final !== undefined) completed = asRecord(asRecord(parseJson(event.data))?.response);
    },
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > MAX_EVENTS_BYTES) throw new CodexError("RUN_FAILED", "The answer was too large.");
      parser.feed(decoder.decode(value, { stream: true }));
      if (completed !== undefined || failure !== undefined) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  if (completed === undefined) throw new CodexError("RUN_FAILED", "The answer stream ended before the response was complete.");
  return completed;
}
