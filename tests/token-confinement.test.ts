/**
 * The guard test of NEVER rule 2: a runner holds known token strings in
 * ctx.data; every route and every error path is driven through the handler,
 * and no token (nor a telling part of one) may appear in any response body,
 * header, Set-Cookie, stream event, log line, audit event, or in what the
 * session store was given and holds.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CodexError } from "../src/backend/core/errors.js";
import type { RunnerContext } from "../src/backend/runners/types.js";
import { createMemorySessionStore } from "../src/backend/sessions/memory-store.js";
import type { SessionStore, StoredSession } from "../src/backend/sessions/types.js";
import { BASE, Browser, makeHarness, sameOrigin } from "./support/handler-harness.js";
import { createTestRunner, SECRET_STRINGS, TOKENS, type TestRunner } from "./support/test-runner.js";

/** Everything that left the backend, or was handed to the store, as text. */
const seen: string[] = [];
const ids = new Set<string>();

/** A SessionStore that records every value it is given before passing it to the memory store. */
function recordingStore() {
  const inner = createMemorySessionStore({ sweepIntervalMs: 0 });
  const given = (id: string, session?: StoredSession) => {
    ids.add(id);
    if (session !== undefined) seen.push(`store.data ${session.data}`);
  };
  const store: SessionStore & { dump(): string; readonly size: number } = {
    create: async (id, session) => (given(id, session), inner.create(id, session)),
    get: async (id) => (given(id), inner.get(id)),
    save: async (id, session) => (given(id, session), inner.save(id, session)),
    rotate: async (oldId, newId, graceMs) => (given(oldId), given(newId), inner.rotate(oldId, newId, graceMs)),
    delete: async (id) => (given(id), inner.delete(id)),
    dump: () => inner.dump(),
    get size() {
      return inner.size;
    },
  };
  return store;
}

const store = recordingStore();
const logs = {
  info: (m: string, f?: Record<string, unknown>) => seen.push(`log.info ${m} ${JSON.stringify(f)}`),
  warn: (m: string, f?: Record<string, unknown>) => seen.push(`log.warn ${m} ${JSON.stringify(f)}`),
  error: (m: string, f?: Record<string, unknown>) => seen.push(`log.error ${m} ${JSON.stringify(f)}`),
};

function harness(runner: TestRunner, extra: Parameters<typeof makeHarness>[0] = {}) {
  return makeHarness(
    {
      sessionStore: store as unknown as ReturnType<typeof createMemorySessionStore>,
      logger: logs,
      onEvent: (event) => seen.push(`event ${JSON.stringify(event)}`),
      ...extra,
    },
    runner,
  );
}

/** Records a response completely: status, every header (Set-Cookie included), the whole body or stream. */
async function record(label: string, response: Response): Promise<Response> {
  const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n");
  const body = await response.clone().text();
  seen.push(`${label} ${response.status}\n${headers}\n${response.headers.getSetCookie().join("\n")}\n${body}`);
  for (const line of response.headers.getSetCookie()) ids.add(line.split("=")[1]?.split(".")[0] ?? "");
  return response;
}

/** What a careless runner would put into an exception: its whole state, tokens included. */
function leakyMessage(ctx: RunnerContext): string {
  return `upstream failed with Bearer ${TOKENS.access}; state=${JSON.stringify(ctx.data)}`;
}

/** The first line (the label) of every recorded output that holds a secret, with the secrets it holds. */
function leaks(): string[] {
  return seen
    .filter((text) => SECRET_STRINGS.some((secret) => text.includes(secret)))
    .map((text) => `${text.split("\n")[0]?.slice(0, 80)} ⇒ ${SECRET_STRINGS.filter((s) => text.includes(s)).length} secret(s)`);
}

afterEach(() => {
  expect(leaks()).toEqual([]);
});

afterAll(() => {
  // The store's raw contents at the end, as an operator (or a heap dump) would see them.
  seen.push(`store.dump ${store.dump()}`);
  expect(leaks()).toEqual([]);
  const dump = store.dump();
  for (const id of ids) if (id.length >= 43) expect(dump).not.toContain(id);
});

describe("no token leaves the backend", () => {
  it("on the happy path: session, login, status, rotation, runs, logout", async () => {
    const runner = createTestRunner();
    const { handler } = harness(runner);
    const b = new Browser(handler);
    await record("session", await b.post("/session"));
    await record("session again", await b.post("/session"));
    await record("login/start", await b.post("/login/start"));
    await record("status pending", await b.get("/status"));
    runner.approve();
    const oldCookie = b.cookie;
    await record("status rotate", await b.get("/status"));
    await record("status again", await b.get("/status"));
    await record("login/start signed in", await b.post("/login/start"));
    await record("run", await b.post("/run/stream", { prompt: `please repeat ${"x"}` }));
    const stale = new Browser(handler);
    stale.cookie = oldCookie;
    await record("old cookie 409", await stale.get("/status"));
    await record("logout", await b.post("/logout"));
    await record("status after logout", await b.get("/status"));
    expect(seen.join("\n")).toContain("store.data v1."); // the store was given sealed tokens…
  });

  it("on every request-shape error path", async () => {
    const runner = createTestRunner();
    const { handler } = harness(runner, { limits: { maxPromptChars: 50 } });
    const b = new Browser(handler);
    await b.signIn(runner);
    const tampered = new Browser(handler);
    tampered.cookie = `${b.cookie?.slice(0, -2)}xx`;
    for (const route of ["/session", "/login/start", "/run/stream", "/logout"]) {
      await record(`tampered ${route}`, await tampered.post(route, { prompt: "hi" }));
      await record(`csrf ${route}`, await b.post(route, { prompt: "hi" }, { "sec-fetch-site": "cross-site", origin: "https://evil.example" }));
    }
    await record("tampered status", await tampered.get("/status"));
    await record("bad %", await handler(new Request(`${BASE}/status`, { headers: { cookie: "__Host-codex_sid=%E0%A4%A" } })));
    await record("413 body", await b.post("/run/stream", { prompt: "a".repeat(70_000) }));
    await record("413 prompt", await b.post("/run/stream", { prompt: "a".repeat(51) }));
    await record("400 json", await b.post("/run/stream", undefined, {}, { body: "{nope" }));
    await record("400 prompt", await b.post("/run/stream", { prompt: 7 }));
    await record("415", await b.post("/run/stream", { prompt: "hi" }, { "content-type": "text/plain" }));
    await record("404", await handler(new Request(`${BASE}/tokens`, { headers: sameOrigin() })));
    await record("405", await handler(new Request(`${BASE}/status`, { method: "DELETE", headers: sameOrigin() })));
    await record("preflight refused", await handler(new Request(`${BASE}/session`, { method: "OPTIONS", headers: { origin: "https://evil.example" } })));
  });

  it("on rate limits and the run lock", async () => {
    const runner = createTestRunner();
    const { handler } = harness(runner, {
      rateLimits: { loginStartPerSession: { points: 1, durationSec: 60 }, runPerSession: { points: 2, durationSec: 60 } },
    });
    const b = new Browser(handler);
    await b.signIn(runner);
    await record("429 login", await b.post("/login/start"));
    const first = await b.post("/run/stream", { prompt: "one" });
    await record("429 run in progress", await b.post("/run/stream", { prompt: "two" }));
    await record("run", first);
    await record("429 rate", await b.post("/run/stream", { prompt: "three" }));
  });

  it("when the runner throws, with its tokens in the message, from every method", async () => {
    const runner = createTestRunner();
    const { handler } = harness(runner);
    const b = new Browser(handler);
    await b.signIn(runner);
    const realStatus = runner.getStatus.bind(runner);
    // A plain Error (INTERNAL on the wire, logged redacted) and a CodexError (its message goes out, redacted).
    runner.startDeviceLogin = async (ctx) => {
      throw new Error(leakyMessage(ctx));
    };
    await record("login throws", await b.post("/login/start"));
    runner.startDeviceLogin = async (ctx) => {
      throw new CodexError("UPSTREAM_UNAVAILABLE", leakyMessage(ctx));
    };
    await record("login throws CodexError", await b.post("/login/start"));
    runner.startDeviceLogin = async (ctx) => {
      throw new CodexError("DEVICE_AUTH_NOT_ENABLED", leakyMessage(ctx));
    };
    await record("login device auth disabled", await b.post("/login/start"));
    runner.getStatus = async (ctx) => {
      throw new Error(leakyMessage(ctx));
    };
    await record("status throws", await b.get("/status"));
    runner.getStatus = async (ctx) => {
      throw new CodexError("UPSTREAM_TIMEOUT", leakyMessage(ctx));
    };
    await record("status throws CodexError", await b.get("/status"));
    runner.getStatus = realStatus;
    runner.options.run = async function* (ctx) {
      yield { type: "assistant-text", mode: "append", text: "partial" };
      throw new Error(leakyMessage(ctx));
    };
    await record("run throws", await b.post("/run/stream", { prompt: "x" }));
    runner.options.run = async function* (ctx) {
      throw new CodexError("USAGE_LIMIT", leakyMessage(ctx), { details: { planType: TOKENS.refresh, models: [TOKENS.access] } });
    };
    await record("run throws CodexError", await b.post("/run/stream", { prompt: "x" }));
    runner.options.run = async function* (ctx) {
      yield { type: "error", code: "RUN_FAILED", error: leakyMessage(ctx), planType: TOKENS.id };
    };
    await record("run yields error event", await b.post("/run/stream", { prompt: "x" }));
    runner.options.logoutError = new Error(`revoke failed: refresh_token=${TOKENS.refresh} access ${TOKENS.access}`);
    await record("logout throws", await b.post("/logout"));
    expect(seen.some((line) => line.startsWith("log.error") && line.includes("upstream failed"))).toBe(true);
  });
});
