/**
 * Reads a stream of newline-delimited JSON incrementally, yielding each value
 * as soon as its line is complete. CRLF is fine, blank and malformed lines are
 * skipped, a line longer than `maxLine` characters is dropped whole, and a last
 * line without a newline still counts. Stopping the loop cancels the stream.
 * @example for await (const ev of readNdjson(res.body!)) console.log(ev);
 */
export async function* readNdjson(body: ReadableStream<Uint8Array>, maxLine = 1 << 20): AsyncGenerator<unknown> {
  const rd = body.getReader();
  const dec = new TextDecoder();
  let buf = "", skip = false, done: boolean | undefined;
  try {
    while (!done) {
      const chunk = await rd.read();
      done = chunk.done;
      const lines = (buf + dec.decode(chunk.value, { stream: !done })).split("\n");
      buf = done ? "" : lines.pop()!;
      for (const l of lines) {
        // `skip`: this is the tail of a line already dropped for being too long.
        // JSON whitespace includes \r, so a CRLF line parses as is.
        if (!skip && l.length <= maxLine)
          try {
            yield JSON.parse(l);
          } catch {}
        skip = false;
      }
      if (buf.length > maxLine) (buf = ""), (skip = true);
    }
  } finally {
    rd.cancel().catch(() => {});
  }
}
