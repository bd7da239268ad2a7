import { describe, expect, it, vi } from "vitest";
import { createCodexClient } from "../../src/client/client.js";
import type { CodexClientError, RunHandlers } from "../../src/client/types.js";

const enc = new TextEncoder();
const ndjson = (lines: unknown[], opts: { close?: boolean } = {}) => {
  let fail!: (e: unknown) => void;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const l of lines) c.enqueue(enc.encode(typeof l == "string" ? l : JSON.stringify(l) + "\n"));
      if (opts.close !== false) c.close();
      fail = (e) => c.error(e);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { res: new Response(stream, { headers: { "content-type": "application/x-ndjson" } }), fail: (e: unknown) => fail(e), cancelled: () => cancelled };
};
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Runs one prompt against a canned response, recording every callback. */
async function runWith(res: Response | (() => Promise<Response>), prompt: Parameters<ReturnType<typeof createCodexClient>["run"]>[0] = "hi") {
  const fetch = vi.fn((_u: RequestInfo | URL, _i?: RequestInit) => (typeof res == "function" ? res() : Promise.resolve(res)));
  const c = createCodexClient({ fetch: fetch as unknown as typeof globalThis.fetch, storage: null });
  const texts: [string, string, string][] = [];
  const done: { text: string }[] = [];
  const errors: CodexClientError[] = [];
  const h: RunHandlers = {
    onText: (t, m, f) => texts.push([t, m, f]),
    onDone: (r) => done.push(r),
    onError: (e) => errors.push(e),
  };
  const handle = c.run(prompt, h);
  return { c, fetch, handle, texts, done, errors };
}

describe("run client", () => {
  it("posts the prompt as JSON with same-origin credentials", async () => {
    const r = await runWith(ndjson([{ type: "done", result: { text: "ok" } }]).res, "Hello");
    await r.handle.done;
    const [url, init] = r.fetch.mock.calls[0]!;
    expect(url).toBe("/api/codex/run/stream");
    expect(init).toMatchObject({ method: "POST", credentials: "same-origin", body: JSON.stringify({ prompt: "Hello" }) });
    expect(new Headers(init!.headers).get("content-type")).toBe("application/json");
  });

  it("sends a full RunRequest as given", async () => {
    const r = await runWith(ndjson([{ type: "done", result: { text: "ok" } }]).res, { prompt: "Hi", model: "gpt-5" });
    await r.handle.done;
    expect(JSON.parse(r.fetch.mock.calls[0]![1]!.body as string)).toEqual({ prompt: "Hi", model: "gpt-5" });
  });

  it("streams text and rebuilds the answer when done omits it (append adds, replace replaces)", async () => {
    const r = await runWith(
      ndjson([
        { type: "assistant-text", mode: "append", text: "Hel" },
        { type: "assistant-text", mode: "append", text: "lo" },
        { type: "assistant-text", mode: "replace", text: "Hi" },
        { type: "assistant-text", mode: "append", text: " there" },
        { type: "done", result: { usage: { inputTokens: 3, outputTokens: 4 } } },
      ]).res,
    );
    await r.handle.done;
    expect(r.texts).toEqual([
      ["Hel", "append", "Hel"],
      ["lo", "append", "Hello"],
      ["Hi", "replace", "Hi"],
      [" there", "append", "Hi there"],
    ]);
    expect(r.done).toEqual([{ text: "Hi there", usage: { inputTokens: 3, outputTokens: 4 } }]);
    expect(r.errors).toEqual([]);
  });

  it("prefers done.result.text when the server sends it", async () => {
    const r = await runWith(ndjson([{ type: "assistant-text", mode: "append", text: "partial" }, { type: "done", result: { text: "full answer" } }]).res);
    await r.handle.done;
    expect(r.done[0]!.text).toBe("full answer");
  });

  it("hands hostile text over untouched, as text", async () => {
    const hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    const r = await runWith(ndjson([{ type: "assistant-text", mode: "append", text: hostile }, { type: "done", result: {} }]).res);
    await r.handle.done;
    expect(r.done[0]!.text).toBe(hostile);
  });

  it("skips malformed lines and unknown events, and ignores non-string text", async () => {
    const r = await runWith(
      ndjson([
        "garbage\n",
        { type: "mystery", text: "x" },
        { type: "assistant-text", mode: "append", text: { evil: true } },
        null,
        { type: "assistant-text", mode: "append", text: "ok" },
        { type: "done", result: {} },
      ]).res,
    );
    await r.handle.done;
    expect(r.done[0]!.text).toBe("ok");
  });

  it("reports an error event with its code and the usage-limit reset time", async () => {
    const resetsAt = Date.now() + 3600_000;
    const r = await runWith(ndjson([{ type: "error", code: "USAGE_LIMIT", error: "Limit reached.", resetsAt, planType: "plus" }]).res);
    await r.handle.done;
    expect(r.errors).toEqual([{ code: "USAGE_LIMIT", message: "Limit reached.", resetsAt, retryAfter: undefined }]);
    expect(r.done).toEqual([]);
  });

  it("reports errors that come before the stream as JSON with their code (429 with retryAfter)", async () => {
    const r = await runWith(json(429, { code: "RUN_IN_PROGRESS", error: "One at a time.", retryAfter: 2 }, { "retry-after": "2" }));
    await r.handle.done;
    expect(r.errors).toEqual([{ code: "RUN_IN_PROGRESS", message: "One at a time.", retryAfter: 2, resetsAt: undefined }]);
  });

  it("signs the client out on 401 NOT_AUTHENTICATED", async () => {
    const r = await runWith(json(401, { code: "NOT_AUTHENTICATED", error: "Sign in first." }));
    await r.handle.done;
    expect(r.errors[0]!.code).toBe("NOT_AUTHENTICATED");
    expect(r.c.getState().status).toBe("loggedOut");
  });

  it("reports NETWORK when the stream stops without a final event", async () => {
    const r = await runWith(ndjson([{ type: "assistant-text", mode: "append", text: "half" }]).res);
    await r.handle.done;
    expect(r.errors.map((e) => e.code)).toEqual(["NETWORK"]);
  });

  it("reports NETWORK when the request cannot be sent", async () => {
    const r = await runWith(() => Promise.reject(new TypeError("Failed to fetch")));
    await r.handle.done;
    expect(r.errors.map((e) => e.code)).toEqual(["NETWORK"]);
  });

  it("reports a 200 that is not NDJSON (a proxy page) as an error, not as an answer", async () => {
    const r = await runWith(new Response("<html>login</html>", { headers: { "content-type": "text/html" } }));
    await r.handle.done;
    expect(r.errors.map((e) => e.code)).toEqual(["NETWORK"]);
    expect(r.texts).toEqual([]);
  });

  it("aborts silently: the request is cancelled, done settles, no onError", async () => {
    const s = ndjson([{ type: "assistant-text", mode: "append", text: "a" }], { close: false });
    const fetch = vi.fn((_u: RequestInfo | URL, init?: RequestInit) =>
      Promise.resolve(s.res).then((res) => {
        // What a browser's fetch does on abort: the body stream errors with an AbortError.
        init!.signal!.addEventListener("abort", () => s.fail(new DOMException("aborted", "AbortError")));
        return res;
      }),
    );
    const c = createCodexClient({ fetch: fetch as unknown as typeof globalThis.fetch, storage: null });
    const onError = vi.fn();
    const onText = vi.fn();
    const h = c.run("hi", { onText, onError });
    await vi.waitFor(() => expect(onText).toHaveBeenCalled());
    h.abort();
    await h.done;
    expect(fetch.mock.calls[0]![1]!.signal!.aborted).toBe(true);
    expect(onError).not.toHaveBeenCalled();
  });

  it("lets an exception thrown by the app's onText reach the caller as itself, not as a NETWORK error", async () => {
    const s = ndjson([{ type: "assistant-text", mode: "append", text: "a" }, { type: "assistant-text", mode: "append", text: "b" }], { close: false });
    const bug = new Error("the app's own bug");
    const onText = vi.fn(() => {
      throw bug;
    });
    const onError = vi.fn();
    const onDone = vi.fn();
    const c = createCodexClient({ fetch: (() => Promise.resolve(s.res)) as unknown as typeof fetch, storage: null });
    await expect(c.run("hi", { onText, onError, onDone }).done).rejects.toBe(bug);
    // The run stopped at the first exception, and the stream was let go.
    expect(onText).toHaveBeenCalledOnce();
    expect(onError).not.toHaveBeenCalled();
    expect(onDone).not.toHaveBeenCalled();
    expect(s.cancelled()).toBe(true);
  });

  it("lets an exception thrown by the app's onDone reach the caller as itself", async () => {
    const bug = new TypeError("cannot read the answer");
    const onError = vi.fn();
    const c = createCodexClient({ fetch: (() => Promise.resolve(ndjson([{ type: "done", result: { text: "ok" } }]).res)) as unknown as typeof fetch, storage: null });
    const handle = c.run("hi", {
      onDone: () => {
        throw bug;
      },
      onError,
    });
    await expect(handle.done).rejects.toBe(bug);
    expect(onError).not.toHaveBeenCalled();
  });

  it("reports NETWORK when the connection breaks mid-stream, keeping the text that arrived", async () => {
    const s = ndjson([{ type: "assistant-text", mode: "append", text: "half" }], { close: false });
    const r = await runWith(s.res);
    await vi.waitFor(() => expect(r.texts).toHaveLength(1));
    s.fail(new TypeError("network error"));
    await r.handle.done;
    expect(r.errors.map((e) => e.code)).toEqual(["NETWORK"]);
    expect(r.texts).toEqual([["half", "append", "half"]]);
  });

  it("stops reading and releases the stream once done arrives", async () => {
    const s = ndjson([{ type: "done", result: { text: "x" } }], { close: false });
    const r = await runWith(s.res);
    await r.handle.done;
    expect(s.cancelled()).toBe(true);
  });
});
