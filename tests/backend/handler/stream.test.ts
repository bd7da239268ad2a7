import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract.js";
import { CodexError } from "../../../src/backend/core/errors.js";
import { Browser, makeHarness, readEvents } from "../../support/handler-harness.js";
import { createTestRunner, sleep, type RunScript } from "../../support/test-runner.js";
import { until } from "../../support/until.js";
import { runEnds } from "../../support/run-ends.js";

async function signedIn(run: RunScript, extra: Parameters<typeof makeHarness>[0] = {}) {
  const runner = createTestRunner({ run });
  const h = makeHarness(extra, runner);
  const browser = new Browser(h.handler);
  await browser.signIn(runner);
  return { ...h, browser };
}

function gate() {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const decoder = new TextDecoder();
/** How long the backpressure test watches for a runner pulled ahead of the reader. */
const runAheadWindowMs = 50;

describe("/run/stream delivery", () => {
  it("delivers the first line before the run ends (no buffering)", async () => {
    const hold = gate();
    let finished = false;
    const { browser } = await signedIn(async function* () {
      yield { type: "assistant-text", mode: "append", text: "first" };
      await hold.promise;
      finished = true;
      yield { type: "done", result: {} };
    });
    const res = await browser.post("/run/stream", { prompt: "x" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunk = await reader.read();
    expect(decoder.decode(chunk.value)).toBe('{"type":"assistant-text","mode":"append","text":"first"}\n');
    expect(finished).toBe(false);
    hold.open();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    expect(rest).toBe('{"type":"done","result":{}}\n');
  });

  it("omits done.result.text when the text was streamed, keeps it when it was not", async () => {
    const streamed = await signedIn(async function* () {
      yield { type: "assistant-text", mode: "append", text: "Hi" };
      yield { type: "assistant-text", mode: "replace", text: "Hello" };
      yield { type: "done", result: { text: "Hello", model: "gpt-5", usage: { inputTokens: 1, outputTokens: 2 } } };
    });
    expect((await readEvents(await streamed.browser.post("/run/stream", { prompt: "x" }))).at(-1)).toEqual({
      type: "done",
      result: { model: "gpt-5", usage: { inputTokens: 1, outputTokens: 2 } },
    });
    const whole = await signedIn(async function* () {
      yield { type: "done", result: { text: "Hello" } };
    });
    expect(await readEvents(await whole.browser.post("/run/stream", { prompt: "x" }))).toEqual([{ type: "done", result: { text: "Hello" } }]);
  });

  it("forwards only contract fields and drops unknown events", async () => {
    const { browser } = await signedIn(async function* () {
      yield { type: "debug", token: "secret" } as unknown as RunEvent;
      yield { type: "assistant-text", mode: "append", text: "a", raw: { token: "x" } } as unknown as RunEvent;
      yield { type: "done", result: { usage: { inputTokens: 1, outputTokens: 1, auth: "x" } }, extra: 1 } as unknown as RunEvent;
    });
    expect(await readEvents(await browser.post("/run/stream", { prompt: "x" }))).toEqual([
      { type: "assistant-text", mode: "append", text: "a" },
      { type: "done", result: { usage: { inputTokens: 1, outputTokens: 1 } } },
    ]);
  });

  it("ends with RUN_FAILED when the runner stops without done or error", async () => {
    const { browser } = await signedIn(async function* () {
      yield { type: "assistant-text", mode: "append", text: "a" };
    });
    const events = await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(events.at(-1)).toMatchObject({ type: "error", code: "RUN_FAILED" });
  });
});

describe("a burst of events the runner already has", () => {
  /** Reads the whole answer, counting the lines read by the time each event-loop turn (setImmediate) comes. */
  async function readCountingTurns(res: Response): Promise<{ lines: number; linesAtTurns: number[] }> {
    const linesAtTurns: number[] = [];
    let lines = 0;
    let reading = true;
    const turn = () => {
      linesAtTurns.push(lines);
      if (reading) setImmediate(turn);
    };
    setImmediate(turn);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) lines += decoder.decode(r.value).split("\n").length - 1;
    reading = false;
    return { lines, linesAtTurns };
  }

  // Node sends a chunked response's writes when the chain of promise callbacks that made them ends: a burst
  // relayed in one chain would send its first text with its last (bench row: relay time to first text).
  it("gives the event loop a turn after the first text, so it is sent before the rest of the burst", async () => {
    const { browser } = await signedIn(async function* () {
      for (let i = 0; i < 200; i++) yield { type: "assistant-text", mode: "append", text: `word${i} ` };
      yield { type: "done", result: {} };
    });
    const res = await browser.post("/run/stream", { prompt: "x" });
    const { lines, linesAtTurns } = await readCountingTurns(res);
    expect(lines).toBe(201);
    // The first turn came with the first text read and the burst not yet.
    expect(linesAtTurns[0]).toBe(1);
  });

  it("gives the event loop a turn every few milliseconds during a long burst, so other requests run", async () => {
    const busyMs = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const { browser } = await signedIn(async function* () {
      for (let i = 0; i < 100; i++) {
        busyMs(0.5); // 50 ms of work in all, every event at once
        yield { type: "assistant-text", mode: "append", text: `${i} ` };
      }
      yield { type: "done", result: {} };
    });
    const res = await browser.post("/run/stream", { prompt: "x" });
    const { lines, linesAtTurns } = await readCountingTurns(res);
    expect(lines).toBe(101);
    // Turns while the burst was read (a slice is 5 ms: about 10 in 50 ms); none without the slices.
    expect(linesAtTurns.filter((n) => n > 1 && n < 101).length).toBeGreaterThanOrEqual(5);
  });
});

describe("runner failures inside the stream", () => {
  it("turns a thrown CodexError into an error event with its code, message and details", async () => {
    const { browser } = await signedIn(async function* () {
      yield { type: "assistant-text", mode: "append", text: "a" };
      throw new CodexError("USAGE_LIMIT", "You hit your usage limit.", { details: { resetsAt: 1_900_000_000_000, planType: "plus" } });
    });
    expect((await readEvents(await browser.post("/run/stream", { prompt: "x" }))).at(-1)).toEqual({
      type: "error",
      code: "USAGE_LIMIT",
      error: "You hit your usage limit.",
      resetsAt: 1_900_000_000_000,
      planType: "plus",
    });
  });

  it("reports any other exception as INTERNAL with a generic message and logs it redacted", async () => {
    const logged: string[] = [];
    const { browser } = await signedIn(
      async function* () {
        throw new Error("boom: Bearer eyJhbGc.eyJzdWIi.c2ln at /home/ann/.codex/auth.json");
      },
      { logger: { error: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`) } },
    );
    const events = await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(events).toEqual([{ type: "error", code: "INTERNAL", error: "The run failed unexpectedly." }]);
    expect(logged.join("\n")).toContain("boom");
    expect(logged.join("\n")).not.toMatch(/eyJ|\/home\/ann/);
  });

  it("redacts a runner's error event and maps an unknown code to RUN_FAILED", async () => {
    const { browser } = await signedIn(async function* () {
      yield { type: "error", code: "WHATEVER", error: "upstream said access_token=abc123secret for /Users/ann/x" } as unknown as RunEvent;
    });
    const [event] = await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(event).toMatchObject({ type: "error", code: "RUN_FAILED" });
    expect(String(event?.error)).not.toMatch(/abc123secret|\/Users\/ann/);
  });
});

describe("client disconnect and backpressure", () => {
  it("aborts the runner's signal when the client disconnects (request signal)", async () => {
    let signal: AbortSignal | undefined;
    const audit = runEnds();
    const { browser } = await signedIn(async function* (_ctx, _p, s) {
      signal = s;
      yield { type: "assistant-text", mode: "append", text: "a" };
      await new Promise((resolve) => s.addEventListener("abort", resolve));
      throw new CodexError("RUN_ABORTED", "aborted");
    }, { onEvent: audit.onEvent });
    const client = new AbortController();
    const res = await browser.post("/run/stream", { prompt: "x" }, {}, { signal: client.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(signal?.aborted).toBe(false);
    client.abort();
    await until(() => signal?.aborted === true, 1000, "the runner's abort");
    await audit.waitFor();
    // The session can run again: the run lock was released.
    const next = await browser.post("/run/stream", { prompt: "again" });
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });

  it("aborts the runner's signal when the reader cancels the stream", async () => {
    const audit = runEnds();
    const { browser, runner } = await signedIn(async function* () {
      for (;;) {
        yield { type: "assistant-text", mode: "append", text: "x" };
        await sleep(1); // an endless answer, one word a millisecond
      }
    }, { onEvent: audit.onEvent });
    const res = await browser.post("/run/stream", { prompt: "x" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    expect(runner.runSignals.at(-1)?.aborted).toBe(true);
    await audit.waitFor();
    const next = await browser.post("/run/stream", { prompt: "again" });
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });

  it("pulls from the runner only as the client reads: a 100 MB answer is not buffered", async () => {
    const chunk = "x".repeat(1024 * 1024);
    let pulled = 0;
    const { browser, runner } = await signedIn(async function* () {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield { type: "assistant-text", mode: "append", text: chunk };
      }
      yield { type: "done", result: {} };
    });
    const before = process.memoryUsage().heapUsed;
    const res = await browser.post("/run/stream", { prompt: "x" });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    // Absence cannot be awaited: this is the window an eager implementation would have used to run ahead.
    await sleep(runAheadWindowMs);
    expect(pulled).toBeLessThanOrEqual(4);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
    await reader.cancel();
    expect(runner.runSignals.at(-1)?.aborted).toBe(true);
    expect(pulled).toBeLessThanOrEqual(4);
  });
});

describe("a runner that lost its login mid-session", () => {
  it("answers the run with NOT_AUTHENTICATED and then treats the session as signed out", async () => {
    const { browser, runner } = await signedIn(async function* () {
      throw new CodexError("NOT_AUTHENTICATED", "Your ChatGPT login expired; sign in again.");
    });
    const events = await readEvents(await browser.post("/run/stream", { prompt: "x" }));
    expect(events).toEqual([{ type: "error", code: "NOT_AUTHENTICATED", error: "Your ChatGPT login expired; sign in again." }]);
    const next = await browser.post("/run/stream", { prompt: "x" });
    expect(next.status).toBe(401);
    expect(await next.json()).toMatchObject({ code: "NOT_AUTHENTICATED" });
    expect(runner.runSignals).toHaveLength(1);
  });
});
