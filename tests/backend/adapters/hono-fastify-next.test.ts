import Fastify from "fastify";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { CodexAuditEvent } from "../../../src/backend/core/audit.js";
import { codexFastify } from "../../../src/backend/adapters/fastify.js";
import { codexHono } from "../../../src/backend/adapters/hono.js";
import { createCodexRouteHandlers } from "../../../src/backend/adapters/next.js";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { describeAdapter, type StartedServer } from "../../support/adapter-suite.js";
import { createScriptedRunner, loginAndRun, send } from "../../support/adapter-runner.js";
import { listen, nextLikeListener, startFastify, startHono, startNextLike } from "../../support/adapter-servers.js";

// First, while the globals are still undici's: node-server's default replaces global Request/Response for the process.
describeAdapter("Hono (@hono/node-server, overrideGlobalObjects: false)", (options) => startHono(options, "all", false));
describeAdapter("Hono (@hono/node-server)", (options) => startHono(options));
describeAdapter("Hono mounted with a bare app.use", (options) => startHono(options, "use"));
describeAdapter("Fastify", (options) => startFastify(options));
describeAdapter("Next.js route handlers (served by node:http + the Node helpers, behind a proxy, trustProxy: true)", startNextLike, { rawTarget: false });

const SECRET = "adapters-more-Secret-7Yc2Nq5Wd8Hk3Tz";
const started: StartedServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});
async function track(server: Promise<StartedServer>): Promise<string> {
  const s = await server;
  started.push(s);
  return s.baseUrl;
}
function options(extra: Partial<CodexHandlerOptions> = {}): CodexHandlerOptions {
  return { runner: createScriptedRunner(), cookieSecret: SECRET, rateLimits: false, ...extra };
}
/** Options whose audit events land in the returned list. */
function audited(extra: Partial<CodexHandlerOptions> = {}) {
  const events: CodexAuditEvent[] = [];
  return { events, options: options({ ...extra, onEvent: (event) => events.push(event) }) };
}
const createdIp = (events: CodexAuditEvent[]) => events.find((e) => e.type === "session_created")?.clientIp;

describe("Hono adapter", () => {
  it("passes requests outside the base path on to the app's own routes when mounted with app.use", async () => {
    const base = await track(startHono(options(), "use"));
    const res = await send(`${base}/other`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ other: true });
  });

  it("passes no client IP off Node (a Workers-style fetch), and the proxy's entry with trustProxy", async () => {
    const call = async (extra: Partial<CodexHandlerOptions>) => {
      const { events, options: opts } = audited(extra);
      const app = new Hono().all("/api/codex/*", codexHono(opts));
      const res = await app.fetch(
        new Request("https://app.example/api/codex/session", {
          method: "POST",
          headers: { origin: "https://app.example", "x-forwarded-for": "203.0.113.7, 198.51.100.2" },
        }),
      );
      expect(res.status).toBe(200);
      return createdIp(events);
    };
    expect(await call({})).toBeUndefined();
    expect(await call({ trustProxy: true })).toBe("198.51.100.2");
  });

  // Middleware that reads the body first: Hono's cached c.req.json() and others, on both kinds of node-server Request.
  const readFirst =
    (read: (c: Context) => Promise<unknown>): MiddlewareHandler =>
    async (c, next) => {
      await read(c).catch(() => undefined);
      await next();
    };
  const bodyReaders: Array<[string, MiddlewareHandler, boolean]> = [
    ["c.req.json()", readFirst((c) => c.req.json()), true],
    ["c.req.json() (overrideGlobalObjects: false)", readFirst((c) => c.req.json()), false],
    ["c.req.arrayBuffer()", readFirst((c) => c.req.arrayBuffer()), false],
    ["c.req.raw.text()", readFirst((c) => c.req.raw.text()), true],
  ];
  for (const [reader, before, overrideGlobalObjects] of bodyReaders) {
    it(`answers 500 INTERNAL naming the fix, not a hang or a vague error, when middleware already ran ${reader}`, async () => {
      const base = await track(startHono(options(), "all", overrideGlobalObjects, before));
      const session = await send(`${base}/api/codex/session`, { method: "POST", headers: { origin: base, "content-type": "application/json" }, body: "{}" });
      // Routes that do not read the body still work.
      expect(session.status).toBe(200);
      const run = await loginAndRun(base, session);
      expect(run.status).toBe(500);
      expect(run.json()).toEqual({
        code: "INTERNAL",
        error: expect.stringMatching(/already read.*mount codexHono before/i),
      });
    });
  }

  it("serves a handler built beforehand under its own base path", async () => {
    const handler = createCodexHandler(options({ basePath: "/auth" }));
    const app = new Hono().use(codexHono(handler, { basePath: "/auth" })).get("/api/codex/session", (c) => c.text("app's"));
    const answer = await app.fetch(new Request("https://app.example/auth/session", { method: "POST", headers: { origin: "https://app.example" } }));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ ok: true });
    expect(await (await app.fetch(new Request("https://app.example/api/codex/session"))).text()).toBe("app's");
  });
});

describe("Fastify plugin", () => {
  it("leaves Fastify's JSON parsing on for the app's own routes", async () => {
    const base = await track(startFastify(options()));
    const res = await send(`${base}/other`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ echoed: { a: 1 } });
  });

  it("answers a malformed content type with the contract's 415, not Fastify's own error", async () => {
    const base = await track(startFastify(options()));
    const res = await send(`${base}/api/codex/run/stream`, {
      method: "POST",
      headers: { origin: base, "content-type": "not a type" },
      body: "{}",
    });
    expect(res.status).toBe(415);
    expect(res.json()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
  });

  it("refuses to register under a prefix, where its routes and the handler's base path would disagree", async () => {
    const app = Fastify();
    try {
      await expect(app.register(codexFastify, { ...options(), prefix: "/app" }).ready()).rejects.toThrow(/without a prefix/);
    } finally {
      await app.close().catch(() => {});
    }
  });

  it("serves a handler built beforehand under its own base path", async () => {
    const handler = createCodexHandler(options({ basePath: "/auth" }));
    const base = await track(startFastify({ handler, basePath: "/auth" }));
    const res = await send(`${base}/auth/session`, { method: "POST", headers: { origin: base } });
    expect(res.status).toBe(200);
    expect((await send(`${base}/auth/nope`)).json()).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("Next.js route handlers", () => {
  it("pass no client IP without trustProxy, even when the client sends X-Forwarded-For", async () => {
    const { events, options: opts } = audited();
    const base = await track(listen(nextLikeListener(createCodexRouteHandlers(opts), false)));
    const res = await send(`${base}/api/codex/session`, { method: "POST", headers: { origin: base, "x-forwarded-for": "203.0.113.7" } });
    expect(res.status).toBe(200);
    expect(createdIp(events)).toBeUndefined();
  });

  it("answer with the contract whichever export Next calls: GET, POST or OPTIONS", async () => {
    const routes = createCodexRouteHandlers(options({ allowedOrigins: ["https://app.example"] }));
    const status = await routes.GET(new Request("https://app.example/api/codex/status"));
    expect(status.status).toBe(401);
    expect(await status.json()).toMatchObject({ code: "NO_SESSION" });
    const wrong = await routes.POST(
      new Request("https://app.example/api/codex/status", { method: "POST", headers: { origin: "https://app.example" } }),
    );
    expect(await wrong.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    const preflight = await routes.OPTIONS(
      new Request("https://app.example/api/codex/session", {
        method: "OPTIONS",
        headers: { origin: "https://app.example", "access-control-request-method": "POST" },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });
});
