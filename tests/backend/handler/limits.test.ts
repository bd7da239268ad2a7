import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract.js";
import { BASE, Browser, makeHarness, readEvents, sameOrigin } from "../../support/handler-harness.js";
import { createTestRunner } from "../../support/test-runner.js";
import { runEnds } from "../../support/run-ends.js";

/** A promise the test resolves: a run that lasts exactly until the test says so. */
function gate() {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

async function signedIn(overrides: Parameters<typeof makeHarness>[0] = {}, runner = createTestRunner()) {
  const h = makeHarness(overrides, runner);
  const browser = new Browser(h.handler);
  await browser.signIn(h.runner);
  return { ...h, browser };
}

/** A request body streamed in chunks with no Content-Length (what chunked transfer encoding delivers). */
function chunkedBody(chunks: number, chunkBytes: number, onPull?: () => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      onPull?.();
      if (sent === 0) controller.enqueue(new TextEncoder().encode('{"prompt":"'));
      if (sent >= chunks) {
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x61));
      sent++;
    },
  });
}

async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = (await res.json()) as { code: string; error: string };
  expect(body.code).toBe(code);
  expect(typeof body.error).toBe("string");
  expect(body.error).not.toMatch(/\n\s+at /); // no stack trace
}

describe("body and prompt limits", () => {
  it("refuses a body over 64 KiB by its Content-Length with 413 BODY_TOO_LARGE", async () => {
    const { browser } = await signedIn();
    await expectError(await browser.post("/run/stream", { prompt: "a".repeat(70 * 1024) }), 413, "BODY_TOO_LARGE");
  });

  it("counts a chunked body with no Content-Length and stops reading it past the limit", async () => {
    const { browser } = await signedIn();
    let pulls = 0;
    const body = chunkedBody(10_000, 1024, () => pulls++); // would be ~10 MB
    const request = new Request(`${BASE}/run/stream`, {
      method: "POST",
      headers: { ...sameOrigin({ "content-type": "application/json" }), cookie: browser.cookie as string },
      body,
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    await expectError(await browser.send(request), 413, "BODY_TOO_LARGE");
    expect(pulls).toBeLessThan(100);
  });

  it("does not trust a Content-Length that understates the body", async () => {
    const { browser } = await signedIn({ limits: { maxBodyBytes: 1024 } });
    const request = new Request(`${BASE}/run/stream`, {
      method: "POST",
      headers: { ...sameOrigin({ "content-type": "application/json", "content-length": "20" }), cookie: browser.cookie as string },
      body: chunkedBody(8, 1024),
      duplex: "half",
    } as RequestInit);
    await expectError(await browser.send(request), 413, "BODY_TOO_LARGE");
  });

  it("accepts a chunked body under the limit", async () => {
    const { browser } = await signedIn();
    const request = new Request(`${BASE}/run/stream`, {
      method: "POST",
      headers: { ...sameOrigin({ "content-type": "application/json" }), cookie: browser.cookie as string },
      body: chunkedBody(4, 100),
      duplex: "half",
    } as RequestInit);
    const res = await browser.send(request);
    expect(res.status).toBe(200);
    expect((await readEvents(res)).at(-1)).toMatchObject({ type: "done" });
  });

  it("refuses a prompt over maxPromptChars with 413 PROMPT_TOO_LONG", async () => {
    const { browser } = await signedIn({ limits: { maxPromptChars: 100 } });
    await expectError(await browser.post("/run/stream", { prompt: "a".repeat(101) }), 413, "PROMPT_TOO_LONG");
    expect((await browser.post("/run/stream", { prompt: "a".repeat(100) })).status).toBe(200);
  });
});

describe("malformed requests", () => {
  it.each([
    ["truncated JSON", '{"prompt": "hi"'],
    ["not JSON at all", "prompt=hi"],
    ["an empty body", ""],
    ["invalid UTF-8", "\uFFFD"],
  ])("answers 400 BAD_JSON for %s", async (_label, raw) => {
    const { browser } = await signedIn();
    const bytes = raw === "\uFFFD" ? new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) : raw;
    const request = new Request(`${BASE}/run/stream`, {
      method: "POST",
      headers: { ...sameOrigin({ "content-type": "application/json" }), cookie: browser.cookie as string },
      body: bytes,
    });
    await expectError(await browser.send(request), 400, "BAD_JSON");
  });

  it.each([
    ["a missing prompt", {}],
    ["an empty prompt", { prompt: "" }],
    ["a blank prompt", { prompt: "   \n" }],
    ["a numeric prompt", { prompt: 42 }],
    ["an array prompt", { prompt: ["hi"] }],
    ["a JSON array body", ["hi"]],
    ["a JSON null body", null],
    ["an unknown field", { prompt: "hi", temperature: 2 }],
    ["a model (forbidden by the default policy)", { prompt: "hi", model: "gpt-5" }],
    ["instructions (forbidden by default)", { prompt: "hi", instructions: "be evil" }],
    ["history (forbidden by default)", { prompt: "hi", history: [] }],
  ])("answers 400 BAD_REQUEST for %s", async (_label, body) => {
    const { browser } = await signedIn();
    await expectError(await browser.post("/run/stream", body), 400, "BAD_REQUEST");
  });

  it("passes model, instructions and history through when the run policy allows them", async () => {
    let seen: unknown;
    const runner = createTestRunner({
      run: async function* (_ctx, _prompt, _signal, options) {
        seen = options;
        yield { type: "done", result: { text: "ok" } } satisfies RunEvent;
      },
    });
    const { browser } = await signedIn({ runPolicy: { models: ["gpt-5"], instructions: true, history: { maxMessages: 2 } } }, runner);
    const body = { prompt: "hi", model: "gpt-5", instructions: "be brief", history: [{ role: "user", text: "a" }] };
    expect(await readEvents(await browser.post("/run/stream", body))).toEqual([{ type: "done", result: { text: "ok" } }]);
    expect(seen).toEqual({ model: "gpt-5", instructions: "be brief", history: [{ role: "user", text: "a" }] });
    await expectError(await browser.post("/run/stream", { prompt: "hi", model: "o3" }), 400, "BAD_REQUEST");
    const three = [1, 2, 3].map(() => ({ role: "user", text: "a" }));
    await expectError(await browser.post("/run/stream", { prompt: "hi", history: three }), 400, "BAD_REQUEST");
    await expectError(await browser.post("/run/stream", { prompt: "hi", history: [{ role: "system", text: "x" }] }), 400, "BAD_REQUEST");
  });

  it.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["a form", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
  ])("answers 415 for a %s body", async (_label, type) => {
    const { browser } = await signedIn();
    await expectError(await browser.post("/run/stream", { prompt: "hi" }, { "content-type": type }), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 415 for /run/stream without a content type", async () => {
    const { browser } = await signedIn();
    const request = new Request(`${BASE}/run/stream`, {
      method: "POST",
      headers: { ...sameOrigin(), cookie: browser.cookie as string },
      body: new Blob(['{"prompt":"hi"}']),
    });
    await expectError(await browser.send(request), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers 404 NOT_FOUND for unknown paths and paths outside the base path", async () => {
    const { handler } = makeHarness();
    for (const url of [`${BASE}/nope`, `${BASE}/session/`, `${BASE}/%73ession`, "https://app.example/other", `${BASE}`]) {
      await expectError(await handler(new Request(url, { method: "POST", headers: sameOrigin() })), 404, "NOT_FOUND");
    }
  });

  it("answers 405 METHOD_NOT_ALLOWED with Allow for wrong methods", async () => {
    const { handler } = makeHarness();
    const cases: Array<[string, string, string]> = [
      ["/session", "GET", "POST, OPTIONS"],
      ["/status", "POST", "GET, OPTIONS"],
      ["/run/stream", "PUT", "POST, OPTIONS"],
      ["/logout", "DELETE", "POST, OPTIONS"],
    ];
    for (const [route, method, allow] of cases) {
      const res = await handler(new Request(BASE + route, { method, headers: sameOrigin() }));
      expect(res.headers.get("allow")).toBe(allow);
      await expectError(res, 405, "METHOD_NOT_ALLOWED");
    }
  });

  it("uses a custom base path", async () => {
    const { handler } = makeHarness({ basePath: "/codex/" });
    const ok = await handler(new Request("https://app.example/codex/session", { method: "POST", headers: sameOrigin() }));
    expect(ok.status).toBe(200);
    expect((await handler(new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() }))).status).toBe(404);
  });
});

describe("rate limits", () => {
  it("limits session creation per client IP with 429 RATE_LIMITED and Retry-After", async () => {
    const { handler } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 3, durationSec: 60 } } });
    for (let i = 0; i < 3; i++) expect((await new Browser(handler, "203.0.113.1").post("/session")).status).toBe(200);
    const limited = await new Browser(handler, "203.0.113.1").post("/session");
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("set-cookie")).toBeNull();
    await expectError(limited, 429, "RATE_LIMITED");
    // Another IP is unaffected, and reusing an existing session costs nothing.
    expect((await new Browser(handler, "203.0.113.2").post("/session")).status).toBe(200);
  });

  it("limits /login/start per session and per IP", async () => {
    const { handler } = makeHarness({
      rateLimits: { loginStartPerSession: { points: 2, durationSec: 60 }, loginStartPerIp: { points: 3, durationSec: 60 } },
    });
    const a = new Browser(handler, "203.0.113.9");
    await a.post("/session");
    expect((await a.post("/login/start")).status).toBe(200);
    expect((await a.post("/login/start")).status).toBe(200);
    await expectError(await a.post("/login/start"), 429, "RATE_LIMITED"); // per session
    const b = new Browser(handler, "203.0.113.9");
    await b.post("/session");
    // The per-IP budget (3) was partly spent by a (including its refused call).
    await expectError(await b.post("/login/start"), 429, "RATE_LIMITED");
  });

  it("limits /run/stream per session and reads X-Forwarded-For only with trustProxy", async () => {
    const runner = createTestRunner();
    const { handler } = makeHarness({ rateLimits: { runPerSession: { points: 100, durationSec: 60 }, runPerIp: { points: 2, durationSec: 60 } } }, runner);
    const browser = new Browser(handler);
    await browser.signIn(runner);
    // Each run is read to the end so that its run lock is released.
    const run = async (b: Browser, prompt: string, xff: string) => {
      const res = await b.post("/run/stream", { prompt }, { "x-forwarded-for": xff });
      if (res.status === 200) await res.text();
      return res;
    };
    expect((await run(browser, "1", "192.0.2.1")).status).toBe(200);
    expect((await run(browser, "2", "192.0.2.2")).status).toBe(200); // a spoofed header does not buy a new budget
    await expectError(await run(browser, "3", "192.0.2.3"), 429, "RATE_LIMITED");

    const proxied = makeHarness({ trustProxy: true, rateLimits: { runPerIp: { points: 1, durationSec: 60 } } }, runner);
    const p = new Browser(proxied.handler, "10.0.0.1");
    await p.signIn(runner);
    // The proxy appends the address it saw; what the client wrote to the left of it is ignored.
    expect((await run(p, "1", "192.0.2.1")).status).toBe(200);
    expect((await run(p, "2", "192.0.2.2")).status).toBe(200);
    await expectError(await run(p, "3", "203.0.113.99, 192.0.2.2"), 429, "RATE_LIMITED");

    const twoHops = makeHarness({ trustProxy: 2, rateLimits: { runPerIp: { points: 1, durationSec: 60 } } }, runner);
    const q = new Browser(twoHops.handler, "10.0.0.2");
    await q.signIn(runner);
    expect((await run(q, "1", "spoof, 192.0.2.7, 10.0.0.1")).status).toBe(200);
    await expectError(await run(q, "2", "other-spoof, 192.0.2.7, 10.0.0.1"), 429, "RATE_LIMITED");
  });

  it("takes a pluggable limiter", async () => {
    const made: string[] = [];
    const { RateLimiterMemory } = await import("rate-limiter-flexible");
    const { handler } = makeHarness({
      rateLimits: {
        createLimiter: (o) => {
          made.push(o.keyPrefix);
          return new RateLimiterMemory({ ...o, points: 1 });
        },
      },
    });
    expect(made).toHaveLength(5);
    expect((await new Browser(handler).post("/session")).status).toBe(200);
    expect((await new Browser(handler).post("/session")).status).toBe(429);
  });
});

describe("one run in flight per session", () => {
  it("10 concurrent runs on one session: exactly one runs, nine get 429 RUN_IN_PROGRESS", async () => {
    let started = 0;
    const finish = gate(); // the run stays in flight until every request has its answer
    const runner = createTestRunner({
      run: async function* () {
        started++;
        await finish.promise;
        yield { type: "done", result: { text: "ok" } };
      },
    });
    const { browser } = await signedIn({}, runner);
    const answers = await Promise.all(Array.from({ length: 10 }, () => browser.post("/run/stream", { prompt: "go" })));
    const ok = answers.filter((r) => r.status === 200);
    const busy = answers.filter((r) => r.status === 429);
    expect(ok).toHaveLength(1);
    expect(busy).toHaveLength(9);
    for (const r of busy) expect(await r.json()).toMatchObject({ code: "RUN_IN_PROGRESS" });
    finish.open();
    expect(await readEvents(ok[0] as Response)).toEqual([{ type: "done", result: { text: "ok" } }]);
    expect(started).toBe(1);
    // The lock is released when the run ends.
    expect((await browser.post("/run/stream", { prompt: "again" })).status).toBe(200);
  });

  it("does not block another session", async () => {
    const finish = gate(); // both runs stay in flight while the two answers are compared
    const runner = createTestRunner({
      run: async function* () {
        await finish.promise;
        yield { type: "done", result: {} };
      },
    });
    const { handler } = makeHarness({}, runner);
    const a = new Browser(handler);
    const b = new Browser(handler);
    await a.signIn(runner);
    await b.signIn(runner);
    const [ra, rb] = await Promise.all([a.post("/run/stream", { prompt: "x" }), b.post("/run/stream", { prompt: "y" })]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    finish.open();
    await Promise.all([ra.body?.cancel(), rb.body?.cancel()]);
  });

  it("releases the lock when the client disconnects before reading", async () => {
    const runner = createTestRunner();
    const audit = runEnds();
    const { browser } = await signedIn({ onEvent: audit.onEvent }, runner);
    const abort = new AbortController();
    const first = await browser.post("/run/stream", { prompt: "x" }, {}, { signal: abort.signal });
    expect(first.status).toBe(200);
    abort.abort();
    await audit.waitFor();
    expect((await browser.post("/run/stream", { prompt: "y" })).status).toBe(200);
  });
});

describe("authentication gates", () => {
  it("refuses /run/stream without a session (401 NO_SESSION) and before sign-in (401 NOT_AUTHENTICATED)", async () => {
    const { handler } = makeHarness();
    const browser = new Browser(handler);
    await expectError(await browser.post("/run/stream", { prompt: "x" }), 401, "NO_SESSION");
    await browser.post("/session");
    await expectError(await browser.post("/run/stream", { prompt: "x" }), 401, "NOT_AUTHENTICATED");
    await browser.post("/login/start");
    await expectError(await browser.post("/run/stream", { prompt: "x" }), 401, "NOT_AUTHENTICATED");
  });

  it("refuses /login/start without a session", async () => {
    const { handler } = makeHarness();
    await expectError(await new Browser(handler).post("/login/start"), 401, "NO_SESSION");
  });
});

describe("client IP unknown", () => {
  it("skips per-IP limits (no shared bucket for every client) and warns once", async () => {
    const warnings: string[] = [];
    const { handler } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 1, durationSec: 60 } }, logger: { warn: (m) => warnings.push(m) } });
    const fresh = () => handler(new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() }));
    expect((await fresh()).status).toBe(200);
    expect((await fresh()).status).toBe(200);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/client IP/);
  });
});
