/**
 * A Redis that blinks: killed (SIGKILL) and restarted on the same port, or
 * frozen (SIGSTOP) and thawed (SIGCONT), under a handler that keeps running.
 * Every contract route must answer 503 STORE_UNAVAILABLE within the store's
 * deadline, never 500 and never hang, and serve again once Redis is back.
 */
import { once } from "node:events";
import express from "express";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCodexClient } from "../../../src/client/client.js";
import type { RunEvent } from "../../../src/contract.js";
import { createCodexHandler, type CodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { createRedisSessionStore } from "../../../src/backend/sessions/redis-store.js";
import { expressApp, listen } from "../../support/adapter-servers.js";
import { send } from "../../support/adapter-runner.js";
import { sameOrigin, BASE, SECRET } from "../../support/handler-harness.js";
import { startRedisServer, type RedisClient, type RedisServer } from "../../support/redis-server.js";
import { createTestRunner, type TestRunner } from "../../support/test-runner.js";
import { until } from "../../support/until.js";

const CALL_TIMEOUT_MS = 300;
// Generous: two cores shared by several suites. The point is "answered", not "fast".
const ANSWER_BOUND_MS = CALL_TIMEOUT_MS + 2_000;

let server: RedisServer;
const servers: RedisServer[] = [];
let client: RedisClient;
const clientErrors: unknown[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  server = await startRedisServer();
  servers.push(server);
  // The options DEPLOYMENT.md recommends: fail at once while disconnected, reconnect forever, a bounded queue.
  client = createClient({
    url: server.url,
    disableOfflineQueue: true,
    commandsQueueMaxLength: 1_000,
    socket: { reconnectStrategy: (retries: number) => Math.min(25 * 2 ** retries, 250) },
  });
  // Without an "error" listener node-redis's EventEmitter would throw and end the process.
  client.on("error", (error: unknown) => clientErrors.push(error));
  await client.connect();
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  server?.child.kill("SIGCONT");
  client?.destroy();
  for (const each of servers) await each.stop();
});

async function killRedis(): Promise<void> {
  const exited = once(server.child, "exit");
  server.child.kill("SIGKILL");
  await exited;
}

async function restartRedis(): Promise<void> {
  server = await startRedisServer({ port: server.port });
  servers.push(server);
  await until(() => client.isReady, 10_000, "node-redis reconnected by itself");
}

/** What a test needs of one answer, whichever way the request travelled. */
interface Answer {
  status: number;
  retryAfter: string | null;
  setCookies: string[];
  text: string;
}
type Transport = (method: "GET" | "POST", route: string, cookie: string | null, body?: unknown) => Promise<Answer>;

/** The Web handler called directly, as a same-origin browser page would reach it. */
function direct(handler: CodexHandler): Transport {
  return async (method, route, cookie, body) => {
    const headers = sameOrigin(cookie === null ? {} : { cookie });
    if (body !== undefined) headers["content-type"] = "application/json";
    const request = new Request(BASE + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const response = await handler(request, { clientIp: "198.51.100.20" });
    return { status: response.status, retryAfter: response.headers.get("retry-after"), setCookies: response.headers.getSetCookie(), text: await response.text() };
  };
}

/** Real HTTP to an Express app with the codex router. */
function overHttp(baseUrl: string): Transport {
  return async (method, route, cookie, body) => {
    const headers: Record<string, string> = { origin: baseUrl };
    if (cookie !== null) headers.cookie = cookie;
    if (body !== undefined) headers["content-type"] = "application/json";
    const answer = await send(`${baseUrl}/api/codex${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const setCookie = answer.headers["set-cookie"] ?? [];
    const retryAfter = answer.headers["retry-after"];
    return { status: answer.status, retryAfter: typeof retryAfter === "string" ? retryAfter : null, setCookies: setCookie, text: answer.text };
  };
}

/** A browser: keeps its session cookie, times each answer. */
class User {
  cookie: string | null = null;
  constructor(private readonly transport: Transport) {}

  async call(method: "GET" | "POST", route: string, body?: unknown): Promise<Answer & { ms: number }> {
    const started = performance.now();
    const answer = await this.transport(method, route, this.cookie, body);
    const ms = performance.now() - started;
    for (const line of answer.setCookies) {
      const pair = line.split(";")[0] ?? "";
      this.cookie = /max-age=0/i.test(line) ? null : pair;
    }
    return { ...answer, ms };
  }

  async signIn(runner: TestRunner): Promise<void> {
    expect((await this.call("POST", "/session")).status).toBe(200);
    expect((await this.call("POST", "/login/start")).status).toBe(200);
    runner.approve();
    expect((await this.call("GET", "/status")).status).toBe(200);
  }
}

function events(text: string): RunEvent[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as RunEvent);
}

function options(runner: TestRunner, prefix: string, extra: Partial<CodexHandlerOptions> = {}): CodexHandlerOptions {
  return {
    runner,
    cookieSecret: SECRET,
    sessionStore: createRedisSessionStore({ client, prefix: `${prefix}:session:`, callTimeoutMs: CALL_TIMEOUT_MS }),
    rateLimits: { storeClient: client, useRedisPackage: true, callTimeoutMs: CALL_TIMEOUT_MS },
    ...extra,
  };
}

/** The two users an outage meets with a session: one whose login is started and pending, one signed in. */
async function midLoginAndSignedIn(transport: Transport, runner: TestRunner): Promise<{ midLogin: User; signedIn: User }> {
  const midLogin = new User(transport);
  expect((await midLogin.call("POST", "/session")).status).toBe(200);
  expect((await midLogin.call("POST", "/login/start")).status).toBe(200);
  const signedIn = new User(transport);
  await signedIn.signIn(runner);
  return { midLogin, signedIn };
}

/** Every contract route, for a newcomer, a user mid-login and a signed-in user: 503 STORE_UNAVAILABLE, in time. */
async function expectEveryRouteUnavailable(transport: Transport, midLogin: User, signedIn: User): Promise<void> {
  const newcomer = new User(transport);
  const calls: Array<[string, User, "GET" | "POST", string, unknown?]> = [
    ["POST /session (new)", newcomer, "POST", "/session"],
    ["POST /session (existing)", signedIn, "POST", "/session"],
    ["GET /status (login pending)", midLogin, "GET", "/status"],
    ["POST /login/start", midLogin, "POST", "/login/start"],
    ["GET /status (signed in)", signedIn, "GET", "/status"],
    ["POST /run/stream", signedIn, "POST", "/run/stream", { prompt: "hello" }],
    ["POST /logout", signedIn, "POST", "/logout"],
  ];
  for (const [name, user, method, route, body] of calls) {
    const answer = await user.call(method, route, body);
    const seen = { name, status: answer.status, retryAfter: answer.retryAfter, body: JSON.parse(answer.text) as unknown };
    expect(seen).toEqual({
      name,
      status: 503,
      retryAfter: "1",
      body: { code: "STORE_UNAVAILABLE", error: expect.any(String), retryAfter: 1 },
    });
    expect(answer.ms, name).toBeLessThan(ANSWER_BOUND_MS);
    // An outage never signs anyone out: no cookie is set or cleared.
    expect(answer.setCookies, name).toEqual([]);
  }
}

describe("a Redis that is killed and restarted, under the core handler", () => {
  it("answers 503 STORE_UNAVAILABLE on every route within the deadline, then serves again without restarting the app", async () => {
    const runner = createTestRunner();
    const warnings: string[] = [];
    const logger = { warn: (message: string, fields?: Record<string, unknown>) => void warnings.push(`${message} (${String(fields?.error)})`) };
    const transport = direct(createCodexHandler(options(runner, "kill", { logger })));
    const { midLogin, signedIn } = await midLoginAndSignedIn(transport, runner);

    await killRedis();
    await expectEveryRouteUnavailable(transport, midLogin, signedIn);
    // One line for the operator, not one per request.
    expect(warnings).toEqual([expect.stringMatching(/^codex-auth: the session store is unavailable/)]);

    await restartRedis();
    // This Redis kept nothing on disk: the old session is gone, which reads as signed out, not as an error.
    expect((await signedIn.call("GET", "/status")).status).toBe(401);
    const again = new User(transport);
    await again.signIn(runner);
    const run = await again.call("POST", "/run/stream", { prompt: "back" });
    expect(events(run.text).at(-1)).toMatchObject({ type: "done" });
    expect((await again.call("POST", "/logout")).status).toBe(200);
    expect(clientErrors.length).toBeGreaterThan(0); // node-redis did report the outage, to its listener
    expect(unhandled).toEqual([]);
  });
});

describe("a Redis that is frozen (SIGSTOP) and thawed (SIGCONT)", () => {
  it("answers 503 within the deadline while frozen, and the same sessions work again once it resumes", async () => {
    const runner = createTestRunner();
    const transport = direct(createCodexHandler(options(runner, "freeze")));
    const burstTransport = direct(createCodexHandler(options(runner, "burst", { rateLimits: false })));
    const { midLogin, signedIn } = await midLoginAndSignedIn(transport, runner);

    server.child.kill("SIGSTOP");
    try {
      await expectEveryRouteUnavailable(transport, midLogin, signedIn);
      // A burst of new sessions while frozen: each is answered in time, and behind the stuck call only one
      // more is sent (to find out whether Redis is back); the others are refused, not queued to run later.
      expect((await new User(burstTransport).call("POST", "/session")).status).toBe(503);
      const burst = await Promise.all(Array.from({ length: 20 }, () => new User(burstTransport).call("POST", "/session")));
      expect(burst.map((answer) => answer.status)).toEqual(Array(20).fill(503));
      expect(Math.max(...burst.map((answer) => answer.ms))).toBeLessThan(ANSWER_BOUND_MS);
    } finally {
      server.child.kill("SIGCONT");
    }
    // Replies come in order: once PING is answered, every late CREATE has run.
    await client.ping();
    expect((await client.keys("burst:*")).length).toBeLessThanOrEqual(2);

    // Nothing was lost: the signed-in session runs, the pending login completes.
    await until(() => client.isReady, 5_000);
    const status = await signedIn.call("GET", "/status");
    expect([status.status, JSON.parse(status.text)]).toEqual([200, { ok: true, account: expect.objectContaining({ email: "ann@example.com" }) }]);
    expect(events((await signedIn.call("POST", "/run/stream", { prompt: "again" })).text).at(-1)).toMatchObject({ type: "done" });
    expect((await midLogin.call("GET", "/status")).status).toBe(200);
    expect(unhandled).toEqual([]);
  });

  it("does not send a call again once its deadline passed: a late NOSCRIPT is not followed by EVAL", async () => {
    const runner = createTestRunner();
    const transport = direct(createCodexHandler(options(runner, "late", { rateLimits: false })));
    await client.scriptFlush();
    server.child.kill("SIGSTOP");
    try {
      const answer = await new User(transport).call("POST", "/session");
      expect([answer.status, answer.ms < ANSWER_BOUND_MS]).toEqual([503, true]);
    } finally {
      server.child.kill("SIGCONT");
    }
    // Replies come in order: once PING is answered, the late EVALSHA's NOSCRIPT has been seen
    // and any EVAL it led to was sent before KEYS.
    await client.ping();
    expect(await client.keys("late:*")).toEqual([]);
    expect(unhandled).toEqual([]);
  });
});

describe("rate limits on a Redis that is down", () => {
  it("refuse with 503 STORE_UNAVAILABLE within the deadline rather than hang or let the request through", async () => {
    const runner = createTestRunner();
    const handler = createCodexHandler({
      runner,
      cookieSecret: SECRET,
      sessionStore: createMemorySessionStore({ sweepIntervalMs: 0 }),
      rateLimits: { storeClient: client, useRedisPackage: true, callTimeoutMs: CALL_TIMEOUT_MS },
    });
    const transport = direct(handler);
    expect((await new User(transport).call("POST", "/session")).status).toBe(200);

    for (const outage of ["frozen", "killed"] as const) {
      if (outage === "frozen") server.child.kill("SIGSTOP");
      else await killRedis();
      try {
        const answer = await new User(transport).call("POST", "/session");
        expect([outage, answer.status, JSON.parse(answer.text).code, answer.retryAfter]).toEqual([outage, 503, "STORE_UNAVAILABLE", "1"]);
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      } finally {
        if (outage === "frozen") server.child.kill("SIGCONT");
      }
      if (outage === "killed") await restartRedis();
      await until(() => client.isReady, 5_000);
      expect((await new User(transport).call("POST", "/session")).status).toBe(200);
    }
    expect(unhandled).toEqual([]);
  });
});

describe("rate limits kept in the Redis session store (the default with it) on a Redis that is down", () => {
  it("refuse a new visitor with 503 STORE_UNAVAILABLE within the store's deadline: the limit is its first Redis call", async () => {
    const runner = createTestRunner();
    // No rateLimits option: the limits count in the session store's Redis, through the store's own call and deadline.
    const { rateLimits: _own, ...shared } = options(runner, "shared-limits");
    const transport = direct(createCodexHandler(shared));
    expect((await new User(transport).call("POST", "/session")).status).toBe(200);

    for (const outage of ["frozen", "killed"] as const) {
      if (outage === "frozen") server.child.kill("SIGSTOP");
      else await killRedis();
      try {
        const answer = await new User(transport).call("POST", "/session");
        expect([outage, answer.status, JSON.parse(answer.text).code, answer.retryAfter]).toEqual([outage, 503, "STORE_UNAVAILABLE", "1"]);
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      } finally {
        if (outage === "frozen") server.child.kill("SIGCONT");
      }
      if (outage === "killed") await restartRedis();
      await until(() => client.isReady, 5_000);
      expect((await new User(transport).call("POST", "/session")).status).toBe(200);
    }
    expect(unhandled).toEqual([]);
  });
});

describe("a store failure in the middle of a run", () => {
  it("ends the stream with an error event STORE_UNAVAILABLE, and the handler logs the lost final save", async () => {
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const runner = createTestRunner({
      async *run(ctx) {
        yield { type: "assistant-text", mode: "append", text: "Half" };
        await blocked;
        // What a runner does after refreshing its tokens mid-run: save at once.
        ctx.data.refreshed = true;
        await ctx.save?.();
        yield { type: "done", result: {} };
      },
    });
    const logged: string[] = [];
    const logger = { error: (message: string) => void logged.push(message), warn: () => undefined, info: () => undefined };
    const handler = createCodexHandler(options(runner, "midrun", { logger, rateLimits: false }));
    const user = new User(direct(handler));
    await user.signIn(runner);

    const response = await handler(
      new Request(`${BASE}/run/stream`, {
        method: "POST",
        headers: sameOrigin({ cookie: user.cookie!, "content-type": "application/json" }),
        body: JSON.stringify({ prompt: "long" }),
      }),
      { clientIp: "198.51.100.20" },
    );
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(events(text)).toEqual([{ type: "assistant-text", mode: "append", text: "Half" }]);

    await killRedis();
    unblock();
    const started = performance.now();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
    expect(performance.now() - started).toBeLessThan(2 * ANSWER_BOUND_MS);
    expect(events(text).at(-1)).toEqual({ type: "error", code: "STORE_UNAVAILABLE", error: expect.any(String), retryAfter: 1 });
    await until(() => logged.includes("could not persist the session after a run"), 3_000);

    await restartRedis();
    expect(unhandled).toEqual([]);
  });
});

describe("a Redis outage through the Express adapter", () => {
  it("answers 503 STORE_UNAVAILABLE over HTTP within the deadline and recovers when Redis is back", async () => {
    const runner = createTestRunner();
    const app = await listen(expressApp(express, options(runner, "express", { trustProxy: false })));
    try {
      const transport = overHttp(app.baseUrl);
      const { midLogin, signedIn } = await midLoginAndSignedIn(transport, runner);

      await killRedis();
      await expectEveryRouteUnavailable(transport, midLogin, signedIn);
      await restartRedis();

      const again = new User(transport);
      await again.signIn(runner);
      expect(events((await again.call("POST", "/run/stream", { prompt: "back" })).text).at(-1)).toMatchObject({ type: "done" });
    } finally {
      await app.close();
    }
    expect(unhandled).toEqual([]);
  });
});

describe("the browser client when Redis blinks", () => {
  /** The client's fetch, through the real handler with a browser's cookie jar; records each answer's status by route. */
  function browserFetch(handler: CodexHandler, statuses: string[]): typeof fetch {
    const user = new User(direct(handler));
    return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const route = new URL(String(input), "https://app.example").pathname.replace("/api/codex", "");
      const body = typeof init.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
      const answer = await user.call(init.method === "POST" ? "POST" : "GET", route, body);
      statuses.push(`${route} ${answer.status}`);
      return new Response(answer.text, { status: answer.status, headers: { "content-type": "application/json" } });
    }) as typeof fetch;
  }

  it("shows STORE_UNAVAILABLE with a human message, keeps polling through a freeze and signs in once Redis is back", async () => {
    // Node has no window events; the client only listens for storage events there.
    vi.stubGlobal("addEventListener", () => undefined);
    vi.stubGlobal("removeEventListener", () => undefined);
    const runner = createTestRunner();
    const handler = createCodexHandler(options(runner, "client"));
    const statuses: string[] = [];
    const codex = createCodexClient({ fetch: browserFetch(handler, statuses), storage: null, pollIntervalMs: 100 });
    const stop = codex.start();
    try {
      await killRedis();
      await codex.login(false);
      const { status, error } = codex.getState() as { status: string; error?: { code: string; message: string } };
      expect([status, error?.code]).toEqual(["error", "STORE_UNAVAILABLE"]);
      expect(error?.message).toMatch(/try again/i);
      await restartRedis();

      await codex.login(false);
      expect(codex.getState().status).toBe("waitingForLogin");
      server.child.kill("SIGSTOP");
      try {
        runner.approve();
        await until(() => statuses.includes("/status 503"), 5_000, "a status poll answered 503");
      } finally {
        server.child.kill("SIGCONT");
      }
      // The poll treats 503 as transient: it backs off and asks again; nobody clicks anything.
      await until(() => codex.getState().status === "authenticated", 10_000, "signed in after the freeze");

      // A run is not re-sent behind the user's back: one request, one error the page can show.
      await killRedis();
      const errors: string[] = [];
      await codex.run("hello", { onError: (runError) => errors.push(runError.code) }).done;
      expect(errors).toEqual(["STORE_UNAVAILABLE"]);
      expect(statuses.filter((line) => line.startsWith("/run/stream"))).toEqual(["/run/stream 503"]);
      // An outage is not a sign-out.
      expect(codex.getState().status).toBe("authenticated");
      await restartRedis();
    } finally {
      stop();
      vi.unstubAllGlobals();
    }
    expect(unhandled).toEqual([]);
  });
});
