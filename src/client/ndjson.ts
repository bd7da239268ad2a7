/** A line longer than this (in characters) is dropped whole: 1 MiB. */
const MAX_LINE_LENGTH = 1024 * 1024;

/**
 * Reads a stream of newline-delimited JSON incrementally, yielding each value
 * as soon as its line is complete. CRLF is fine, blank and malformed lines are
 * skipped, a line longer than `maxLineLength` characters is dropped whole, and
 * a last line without a newline still counts. A stream that fails (a cut
 * connection, an abort) simply ends: the caller tells a complete answer by its
 * own final event. Stopping the loop cancels the stream.
 * @example for await (const value of readNdjson(response.body!)) console.log(value);
 */
export async function* readNdjson(body: ReadableStream<Uint8Array>, maxLineLength = MAX_LINE_LENGTH): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  // True while the rest of a line already dropped for being too long is still arriving.
  let skippingLongLine = false;
  let finished = false;
  try {
    while (!finished) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        // A cut connection or an abort ends the values here, and an unfinished line is dropped.
        return;
      }
      finished = chunk.done;
      const lines = (pending + decoder.decode(chunk.value, { stream: !finished })).split("\n");
      // The last piece is an unfinished line, unless the stream has ended.
      pending = finished ? "" : lines.pop()!;
      for (const line of lines) {
        // JSON whitespace includes \r, so a CRLF line parses as is.
        if (!skippingLongLine && line.length <= maxLineLength) {
          try {
            yield JSON.parse(line);
          } catch {
            // A malformed line is skipped; the stream goes on.
          }
        }
        skippingLongLine = false;
      }
      if (pending.length > maxLineLength) {
        pending = "";
        skippingLongLine = true;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
