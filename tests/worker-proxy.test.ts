/**
 * The Worker proxy (codex-auth/backend/worker) between a browser stand-in and
 * a real backend: the Node handler over the directRunner and the simulator,
 * each on its own socket on 127.0.0.1. The proxy itself is served by a tiny
 * Web bridge, as a fetch runtime would serve it.
 */
import { createServer, type IncomingHttpHeaders, type RequestListener } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CodexAuditEvent } from "../src/backend/audit.js";
import { createNodeHandler } from "../src/backend/adapters/node.js";
import { createCodexProxy, type CodexProxy, type CodexProxyOptions } from "../src/backend/adapters/worker.js";
import { directRunner } from "../src/backend/direct.js";
import type { CodexHandlerOptions } from "../src/backend/options.js";
import { startSimulator, type Simulator } from "../src/simulator/index.js";
import { describeAdapter } from "./adapter-suite.js";
import { until } from "./adapter-runner.js";
import { bridge, startWorkerProxy } from "./adapter-servers.js";

const SECRET = "worker-proxy-Secret-7Hq2Zx9Lm4Vc1Tb";

interface Listening {
  url: string;
  close(): Promise<void>;
}

async function listen(listener: RequestListener): Promise<Listening> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Conformance: the adapter suite, run through the proxy to a Node backend, gives the same answers.
describeAdapter("Worker proxy", startWorkerProxy, { rawTarget: false });

describe("Worker proxy in front of a Node backend", () => {
  let sim: Simulator;
  /** A server that must never be reached: every request it gets is a proxy escape. */
  let evil: Listening & { hits: string[] };
  const open: Listening[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ interval: 1 });
    const hits: string[] = [];
    evil = Object.assign(await listen((req, res) => (hits.push(`${req.method} ${req.url}`), res.end("pwned"))), { hits });
  });
  afterAll(async () => {
    await evil.close();
    await sim.close();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    sim.clearFaults();
  });

  interface Pair {
    /** The proxy's public origin (what the browser sees). */
    front: string;
    api: string;
    backend: string;
    proxy: CodexProxy;
    /** What reached the backend: method, path and headers. */
    seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
    events: CodexAuditEvent[];
  }

  /**
   * A backend (the codex handler, trustProxy 1, plus a few test-only routes
   * under /api/codex/__test/) and the proxy in front of it.
   */
  async function startPair(handler: Partial<CodexHandlerOptions> = {}, proxyOptions: Partial<CodexProxyOptions> = {}): Promise<Pair> {
    let proxy: CodexProxy | undefined;
    const front = await listen(bridge(() => proxy!));
    open.push(front);
    const events: CodexAuditEvent[] = [];
    const seen: Pair["seen"] = [];
    const codex = createNodeHandler({
      runner: directRunner({ issuer: sim.url, backendBaseUrl: `${sim.url}/backend-api`, retryBaseDelayMs: 5 }),
      cookieSecret: SECRET,
      trustProxy: 1,
      rateLimits: false,
      onEvent: (event) => events.push(event),
      ...handler,
    });
    const backend = await listen((req, res) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      const test = testRoutes[(req.url ?? "").split("?")[0]!];
      if (test) test(req, res);
      else codex(req, res);
    });
    open.push(backend);
    proxy = createCodexProxy({ backend: backend.url, clientIp: (r) => r.headers.get("cf-connecting-ip"), fetch, ...proxyOptions });
    return { front: front.url, api: `${front.url}/api/codex`, backend: backend.url, proxy, seen, events };
  }

  /** Requests to the slow route whose connection closed before it answered. */
  let slowDropped = 0;
  const testRoutes: Record<string, RequestListener> = {
    "/api/codex/__test/hop": (_req, res) => {
      res.setHeader("connection", "x-hop-secret");
      res.setHeader("x-hop-secret", "1");
      res.setHeader("keep-alive", "timeout=5");
      res.setHeader("proxy-authenticate", "Basic");
      res.setHeader("upgrade", "h2c");
      res.setHeader("trailer", "x-t");
      res.setHeader("set-cookie", ["a=1; Path=/; Secure", "b=2; Path=/; HttpOnly"]);
      res.setHeader("x-kept", "yes");
      res.end("ok"); // chunked: Transfer-Encoding too
    },
    "/api/codex/__test/redirect": (_req, res) => {
      res.writeHead(302, { location: `${evil.url}/landing` }).end();
    },
    "/api/codex/__test/slow": (_req, res) => {
      const timer = setTimeout(() => res.end("late"), 3000);
      res.once("close", () => {
        clearTimeout(timer);
        if (!res.writableFinished) slowDropped += 1;
      });
    },
    "/api/codex/__test/echo": (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => res.end(Buffer.concat(chunks)));
    },
  };

  /** A browser on the proxy's origin: a cookie jar, same-origin fetch metadata, a fixed client IP at the edge. */
  function browser(pair: Pair, ip: string) {
    const jar = { cookie: undefined as string | undefined, setCookies: [] as string[] };
    const request = async (path: string, init: { method?: string; body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { origin: pair.front, "sec-fetch-site": "same-origin", "cf-connecting-ip": ip, ...init.headers };
      if (jar.cookie) headers.cookie = jar.cookie;
      if (init.body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(pair.api + path, {
        method: init.method ?? "GET",
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
      for (const line of response.headers.getSetCookie()) {
        jar.setCookies.push(line);
        const nameValue = line.split(";")[0] ?? "";
        jar.cookie = /max-age=0/i.test(line) ? undefined : nameValue;
      }
      return response;
    };
    return { jar, request };
  }

  describe("the whole flow through the proxy", () => {
    it("signs in, streams a run, aborts a run on disconnect and signs out, with every cookie passed unchanged", async () => {
      const pair = await startPair({ allowedOrigins: [] });
      const { jar, request } = browser(pair, "198.51.100.10");

      const created = await request("/session", { method: "POST" });
      expect(created.status).toBe(200);
      expect(jar.setCookies[0]).toMatch(/^__Host-codex_sid=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
      const first = jar.cookie;

      const start = await request("/login/start", { method: "POST" });
      const { userCode } = (await start.json()) as { userCode: string };
      expect(sim.approve(userCode)).toBe(true);
      let account: unknown;
      for (let i = 0; i < 40 && account === undefined; i++) {
        const status = await request("/status");
        const body = (await status.json()) as { ok: boolean; account?: unknown };
        if (body.ok) account = body.account;
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(account).toBeDefined();
      expect(jar.cookie).toMatch(/^__Host-codex_sid=/);
      expect(jar.cookie).not.toBe(first); // the first authenticated answer rotated the id; its Set-Cookie came through

      // The first NDJSON line arrives while the backend's run is still going.
      sim.fault("slow-stream", { delayMs: 150, times: 1 });
      const run = await request("/run/stream", { method: "POST", body: { prompt: "tell me three things" } });
      expect(run.status).toBe(200);
      expect(run.headers.get("content-type")).toMatch(/application\/x-ndjson/);
      const reader = run.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) text += (await reader.read()).value ?? "";
      expect(JSON.parse(text.slice(0, text.indexOf("\n")))).toMatchObject({ type: "assistant-text" });
      expect(pair.events.some((e) => e.type === "run_finished")).toBe(false);
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
      const events = text.trim().split("\n").map((line) => JSON.parse(line) as { type: string });
      expect(events.at(-1)?.type).toBe("done");
      expect(pair.events.filter((e) => e.type === "run_finished")).toHaveLength(1);

      // A browser that leaves mid-run: the proxy drops the upstream request and the backend aborts the run.
      sim.fault("slow-stream", { delayMs: 300, times: 1 });
      const leave = new AbortController();
      const second = await request("/run/stream", { method: "POST", body: { prompt: "a long answer please" }, signal: leave.signal });
      const secondReader = second.body!.getReader();
      await secondReader.read();
      leave.abort();
      await until(() => pair.events.some((e) => e.type === "run_failed"), 5000);
      expect(pair.events.find((e) => e.type === "run_failed")).toMatchObject({ code: "RUN_ABORTED" });
      expect(pair.events.filter((e) => e.type === "run_finished")).toHaveLength(1);

      const out = await request("/logout", { method: "POST" });
      expect(out.status).toBe(200);
      expect(jar.setCookies.at(-1)).toMatch(/^__Host-codex_sid=; Path=\/; Max-Age=0;.*; Secure$/);
      expect(jar.cookie).toBeUndefined();
      expect((await request("/status")).status).toBe(401);
      expect(evil.hits).toEqual([]);
    });

    it("lets the backend reject a cross-site POST with 403 CSRF_REJECTED", async () => {
      const pair = await startPair();
      const { request } = browser(pair, "198.51.100.11");
      const res = await request("/session", { method: "POST", headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: "CSRF_REJECTED" });
      expect(res.headers.getSetCookie()).toEqual([]);
    });

    it("needs the public origin in allowedOrigins for a request without Sec-Fetch-Site (the backend's Host is not the public one)", async () => {
      // A non-browser client, or an older browser: Origin is the Worker's public origin, Host at the backend is the backend's.
      const post = (pair: Pair) =>
        fetch(`${pair.api}/session`, { method: "POST", headers: { origin: "https://app.example", "cf-connecting-ip": "198.51.100.12" } });
      const unlisted = await startPair();
      const refused = await post(unlisted);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: "CSRF_REJECTED" });
      expect(unlisted.seen.at(-1)?.headers.origin).toBe("https://app.example"); // Origin is never rewritten
      expect(unlisted.seen.at(-1)?.headers["sec-fetch-site"]).toBeUndefined();

      const listed = await startPair({ allowedOrigins: ["https://app.example"] });
      expect((await post(listed)).status).toBe(200);
    });
  });

  describe("paths", () => {
    /** One raw request line to the front, over a socket of its own: status line and body. */
    function raw(front: string, target: string): Promise<{ status: number; text: string }> {
      const { hostname, port } = new URL(front);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname);
        let text = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => (text += chunk));
        socket.on("error", reject);
        socket.on("end", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
        socket.write(`GET ${target} HTTP/1.1\r\nHost: app.example\r\nOrigin: https://app.example\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n`);
      });
    }

    it("never lets a path, an absolute-form target or dot segments change the backend's origin", async () => {
      const pair = await startPair();
      const evilHost = new URL(evil.url).host;
      const targets = [
        `//${evilHost}/api/codex/status`,
        `http://${evilHost}/api/codex/status`,
        `/api/codex//${evilHost}/x`,
        `/api/codex/../../${evilHost}/x`,
        `/api/codex/%2e%2e/%2e%2e/${evilHost}`,
        `/api/codex/..%2f..%2f${evilHost}`,
        `/api/codex/\\\\${evilHost}/x`,
        `/api/codex/@${evilHost}/x`,
        `/api/codex/status?next=//${evilHost}`,
      ];
      for (const target of targets) {
        const res = await raw(pair.front, target);
        // Either the app's own 404 (not a contract path) or the backend's answer: never the evil server's.
        expect(res.text, target).not.toContain("pwned");
        expect([400, 401, 404], target).toContain(res.status);
      }
      // Built in a Worker from any URL at all, the request still goes to the backend.
      for (const url of [`http://${evilHost}/api/codex/status`, `https://evil.example:1/api/codex/status?x=//${evilHost}`]) {
        const res = await pair.proxy(new Request(url, { headers: { "sec-fetch-site": "same-origin" } }));
        expect(res?.status).toBe(401);
      }
      expect(evil.hits).toEqual([]);
      const reached = pair.seen.map((s) => s.url);
      expect(reached).toContain(`/api/codex//${evilHost}/x`);
      expect(reached.every((url) => url.startsWith("/api/codex"))).toBe(true);
    });

    it("answers undefined for paths outside the base path, so the Worker's own routes get them", async () => {
      const pair = await startPair();
      for (const path of ["/", "/other", "/api/codexfoo", "/api/code", "/api/codex/../other", "/API/codex/status"]) {
        expect(await pair.proxy(new Request(`https://app.example${path}`)), path).toBeUndefined();
      }
      expect(pair.seen).toEqual([]);
      const mounted = createCodexProxy({ backend: pair.backend, basePath: "/codex/" });
      expect(await mounted(new Request("https://app.example/api/codex/status"))).toBeUndefined();
      expect((await mounted(new Request("https://app.example/codex/status")))?.status).toBe(404); // forwarded; the backend mounts /api/codex
      expect(pair.seen.map((s) => s.url)).toEqual(["/codex/status"]);
    });

    it("passes a backend redirect to the browser instead of following it", async () => {
      const pair = await startPair();
      const res = await pair.proxy(new Request("https://app.example/api/codex/__test/redirect"));
      expect(res?.status).toBe(302);
      expect(res?.headers.get("location")).toBe(`${evil.url}/landing`);
      expect(evil.hits).toEqual([]);
    });
  });

  describe("headers", () => {
    it("drops hop-by-hop request headers and Host, keeps the rest, and streams the body", async () => {
      const pair = await startPair();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"prompt":'));
          controller.enqueue(new TextEncoder().encode('"hi"}'));
          controller.close();
        },
      });
      const res = await pair.proxy(
        new Request("https://app.example/api/codex/__test/echo?x=1", {
          method: "POST",
          body,
          duplex: "half",
          headers: {
            host: "app.example",
            connection: "keep-alive, x-hop-named",
            "x-hop-named": "secret",
            "keep-alive": "timeout=5",
            "proxy-authorization": "Basic Zm9vOmJhcg==",
            te: "trailers",
            trailer: "x-t",
            upgrade: "websocket",
            expect: "100-continue",
            cookie: "__Host-codex_sid=abc",
            origin: "https://app.example",
            "sec-fetch-site": "same-origin",
            "sec-fetch-mode": "cors",
            "content-type": "application/json",
            "x-forwarded-host": "spoofed.example",
          },
        } as RequestInit),
      );
      expect(await res?.text()).toBe('{"prompt":"hi"}');
      const seen = pair.seen.at(-1)!;
      expect(seen.method).toBe("POST");
      expect(seen.url).toBe("/api/codex/__test/echo?x=1");
      for (const name of ["x-hop-named", "keep-alive", "proxy-authorization", "te", "trailer", "upgrade", "expect"]) {
        expect(seen.headers[name], name).toBeUndefined();
      }
      expect(seen.headers.host).toBe(new URL(pair.backend).host);
      expect(seen.headers).toMatchObject({
        cookie: "__Host-codex_sid=abc",
        origin: "https://app.example",
        "sec-fetch-site": "same-origin",
        "sec-fetch-mode": "cors",
        "content-type": "application/json",
        "x-forwarded-host": "app.example",
        "x-forwarded-proto": "https",
        "accept-encoding": "identity",
      });
    });

    it("forwards Content-Length, so the backend can refuse a large body at once", async () => {
      const pair = await startPair();
      const res = await fetch(`${pair.api}/__test/echo`, { method: "POST", body: "0123456789", headers: { "content-type": "text/plain" } });
      expect(await res.text()).toBe("0123456789");
      expect(pair.seen.at(-1)?.headers["content-length"]).toBe("10");
    });

    it("drops hop-by-hop response headers and keeps every Set-Cookie", async () => {
      const pair = await startPair();
      const res = (await pair.proxy(new Request("https://app.example/api/codex/__test/hop")))!;
      expect(res.status).toBe(200);
      for (const name of ["connection", "x-hop-secret", "keep-alive", "proxy-authenticate", "upgrade", "trailer", "transfer-encoding"]) {
        expect(res.headers.get(name), name).toBeNull();
      }
      expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/; Secure", "b=2; Path=/; HttpOnly"]);
      expect(res.headers.get("x-kept")).toBe("yes");
      expect(await res.text()).toBe("ok");
    });
  });

  describe("client IP", () => {
    it("appends the edge's client IP to X-Forwarded-For, and the backend's per-IP limit uses it", async () => {
      const pair = await startPair({ rateLimits: { sessionCreatePerIp: { points: 2, durationSec: 60 } } });
      const post = (ip: string, headers: Record<string, string> = {}) =>
        browser(pair, ip).request("/session", { method: "POST", headers });
      expect((await post("203.0.113.1")).status).toBe(200);
      expect((await post("203.0.113.1")).status).toBe(200);
      const limited = await post("203.0.113.1");
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED" });
      // A client naming another IP itself only adds an entry to the left of the one the backend trusts.
      expect((await post("203.0.113.1", { "x-forwarded-for": "203.0.113.2" })).status).toBe(429);
      expect(pair.seen.at(-1)?.headers["x-forwarded-for"]).toBe("203.0.113.2, 203.0.113.1");
      // Another client has a bucket of its own.
      expect((await post("203.0.113.2")).status).toBe(200);
      expect(pair.events.filter((e) => e.type === "session_created").map((e) => e.clientIp)).toEqual(["203.0.113.1", "203.0.113.1", "203.0.113.2"]);
    });

    it("sends `unknown` when the edge's value is not an IP, so the client cannot choose the trusted entry", async () => {
      const pair = await startPair();
      await browser(pair, "203.0.113.9, 192.0.2.1").request("/session", { method: "POST" });
      expect(pair.seen.at(-1)?.headers["x-forwarded-for"]).toBe("unknown");
      const none = createCodexProxy({ backend: pair.backend });
      await none(new Request("https://app.example/api/codex/status", { headers: { "x-forwarded-for": "192.0.2.7" } }));
      expect(pair.seen.at(-1)?.headers["x-forwarded-for"]).toBe("192.0.2.7"); // without clientIp: unchanged
    });
  });

  describe("a backend that fails", () => {
    it("answers 502 UPSTREAM_UNAVAILABLE when the backend is down, with no detail", async () => {
      const gone = await listen(() => undefined);
      await gone.close();
      const proxy = createCodexProxy({ backend: gone.url });
      const res = (await proxy(new Request("https://app.example/api/codex/status")))!;
      expect(res.status).toBe(502);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ ok: false, code: "UPSTREAM_UNAVAILABLE", error: expect.any(String) });
      expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at .*\(|fetch failed/);
    });

    it("answers 504 UPSTREAM_TIMEOUT when the headers are late, and drops the backend request", async () => {
      const pair = await startPair({}, { timeoutMs: 300 });
      const before = slowDropped;
      const started = Date.now();
      const res = (await pair.proxy(new Request("https://app.example/api/codex/__test/slow")))!;
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.status).toBe(504);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({ ok: false, code: "UPSTREAM_TIMEOUT", error: expect.any(String) });
      await until(() => slowDropped === before + 1);
    });

    it("drops the backend request when the client leaves before the headers", async () => {
      const pair = await startPair();
      const leave = new AbortController();
      const before = slowDropped;
      const answer = pair.proxy(new Request("https://app.example/api/codex/__test/slow", { signal: leave.signal }));
      await until(() => pair.seen.length === 1);
      leave.abort();
      await until(() => slowDropped === before + 1, 1000);
      expect((await answer)?.status).toBe(502); // read by no one: the client is gone
    });

    it("refuses a backend that is not a plain origin, or plain http to a public host", () => {
      for (const backend of ["not a url", "ftp://x.example", "https://x.example/api", "https://u:p@x.example", "https://x.example?a", "http://api.example.com", "http://8.8.8.8"]) {
        expect(() => createCodexProxy({ backend }), backend).toThrow(TypeError);
      }
      for (const backend of ["https://api.example.com/", "http://127.0.0.1:8787", "http://localhost:3000", "http://10.0.0.5", "http://192.168.1.2", "http://[::1]:3000", "http://codex-backend:3000", "http://codex.svc.cluster.local"]) {
        expect(() => createCodexProxy({ backend }), backend).not.toThrow();
      }
      expect(() => createCodexProxy({ backend: "https://x.example", basePath: "api" })).toThrow(TypeError);
      expect(() => createCodexProxy({ backend: "https://x.example", timeoutMs: 0 })).toThrow(TypeError);
    });
  });
});

describe("the Worker proxy entry", () => {
  it("bundles for a fetch runtime from Web APIs alone: no node: module, nothing of the handler", async () => {
    const result = await build({
      entryPoints: ["src/backend/worker.ts"],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral", // a node: import would fail to resolve here
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
    expect(inputs).toEqual(["src/backend/adapters/base-path.ts", "src/backend/adapters/worker.ts", "src/backend/worker.ts", "src/contract.ts"]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/["'`]node:/);
    expect(code.length).toBeLessThan(12_000);
  });
});
