import { describe, expect, it } from "vitest";
import { readNdjson } from "../../src/client/ndjson.js";

const enc = new TextEncoder();
/** A body delivering exactly these chunks (strings or raw bytes), one read each. */
const body = (...chunks: (string | Uint8Array)[]) => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks.shift();
      if (next === undefined) c.close();
      else c.enqueue(typeof next == "string" ? enc.encode(next) : next);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
};
const all = async (s: ReadableStream<Uint8Array>, max?: number) => {
  const out: unknown[] = [];
  for await (const v of readNdjson(s, max)) out.push(v);
  return out;
};

describe("NDJSON reader", () => {
  it("yields one value per line", async () => {
    expect(await all(body('{"a":1}\n{"b":2}\n').stream)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("joins a line split across chunks, even inside a multi-byte character", async () => {
    const bytes = enc.encode('{"t":"héllo ✓"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // in the middle of "é"
    expect(await all(body('{"a":', "1}\n{", '"b":2}\n', bytes.slice(0, cut), bytes.slice(cut)).stream)).toEqual([
      { a: 1 },
      { b: 2 },
      { t: "héllo ✓" },
    ]);
  });

  it("accepts CRLF line endings", async () => {
    expect(await all(body('{"a":1}\r\n{"b":2}\r\n').stream)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("reads a last line that has no trailing newline", async () => {
    expect(await all(body('{"a":1}\n{"b":2}').stream)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("skips blank and malformed lines and keeps going", async () => {
    expect(await all(body('\n{"a":1}\nnot json\n\r\n{"b":\n{"c":3}\n').stream)).toEqual([{ a: 1 }, { c: 3 }]);
  });

  it("drops an over-long line whole, even when it spans chunks, and reads the next", async () => {
    const long = `{"t":"${"x".repeat(100)}"}`;
    const got = await all(body(long.slice(0, 60), long.slice(60, 130), `${long.slice(130)}\n{"ok":1}\n`).stream, 50);
    expect(got).toEqual([{ ok: 1 }]);
  });

  it("never mistakes the tail of a dropped line for a line of its own", async () => {
    // The first 60 characters overflow the cap and are dropped; what follows until the
    // newline is still part of that line, though it happens to be valid JSON alone.
    const got = await all(body(`{"t":"${"x".repeat(60)}`, '{"injected":true}\n{"ok":1}\n').stream, 50);
    expect(got).toEqual([{ ok: 1 }]);
  });

  it("drops an over-long last line without a newline", async () => {
    expect(await all(body('{"ok":1}\n', `{"t":"${"x".repeat(100)}"}`).stream, 50)).toEqual([{ ok: 1 }]);
  });

  it("yields each value as soon as its line completes, before the stream ends", async () => {
    let push!: (s: string) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => c.enqueue(enc.encode(s));
      },
    });
    const it = readNdjson(stream)[Symbol.asyncIterator]();
    push('{"first":true}\n');
    expect((await it.next()).value).toEqual({ first: true });
    await it.return?.(undefined);
  });

  it("ends quietly when the stream fails, dropping the unfinished line", async () => {
    let fail!: (e: unknown) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('{"a":1}\n{"b":'));
        fail = (e) => c.error(e);
      },
    });
    const values: unknown[] = [];
    const reading = (async () => {
      for await (const v of readNdjson(stream)) values.push(v);
    })();
    await new Promise((r) => setTimeout(r, 10));
    fail(new TypeError("network error"));
    await expect(reading).resolves.toBeUndefined();
    expect(values).toEqual([{ a: 1 }]);
  });

  it("cancels the stream when the reader stops early", async () => {
    const b = body('{"a":1}\n', '{"b":2}\n', '{"c":3}\n');
    for await (const v of readNdjson(b.stream)) {
      expect(v).toEqual({ a: 1 });
      break;
    }
    expect(b.cancelled()).toBe(true);
  });
});
