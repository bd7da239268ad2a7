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
import type { CodexAuditEvent } from "../../../src/backend/core/audit.js";
import { createNodeHandler } from "../../../src/backend/adapters/node.js";
import { createCodexProxy, type CodexProxy, type CodexProxyOptions } from "../../../src/backend/adapters/worker.js";
import { directRunner } from "../../../src/backend/direct.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { startSimulator, type Simulator } from "../../../src/simulator/index.js";
import { describeAdapter } from "../../support/adapter-suite.js";
import { until } from "../../support/adapter-runner.js";
import { bridge, startWorkerProxy } from "../../support/adapter-servers.js";

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
  /** Body bytes the counting routes received, one entry per request, once its body ended or broke off. */
  const received: number[] = [];
  const countBody = (req: Parameters<RequestListener>[0]): { bytes: number } => {
    const count = { bytes: 0 };
    req.on("data", (chunk: Buffer) => (count.bytes += chunk.byteLength));
    req.once("close", () => received.push(count.bytes));
    return count;
  };
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
    "/api/codex/__test/count": (req, res) => {
      const count = countBody(req);
      req.on("end", () => res.end(`received ${count.bytes}`));
    },
    "/api/codex/__test/answer-first": (req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("answered;"); // status and first bytes leave before the body is in
      countBody(req);
      req.on("end", () => res.end("complete"));
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

  /**
   * Raw bytes to the front over a socket of its own: the status and the whole
   * answer once the front closes, or status 0 if it has not after `waitMs`.
   */
  function rawExchange(front: string, bytes: string, waitMs = 5000): Promise<{ status: number; text: string }> {
    const { hostname, port } = new URL(front);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      let text = "";
      const done = (status: number) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status, text });
      };
      const timer = setTimeout(() => done(0), waitMs);
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      socket.on("error", reject);
      socket.on("end", () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      socket.write(bytes);
    });
  }

  /** An answer the proxy gave itself: JSON with a stable code, never stored, no word of the backend. */
  async function expectProxyError(response: Response | undefined, status: number, code: string, pair: Pair): Promise<void> {
    expect(response?.status).toBe(status);
    expect(response?.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response?.headers.get("cache-control")).toBe("no-store");
    const text = (await response?.text()) ?? "";
    expect(JSON.parse(text)).toEqual({ ok: false, code, error: expect.any(String) });
    expect(text).not.toContain(new URL(pair.backend).port);
  }

  describe("paths", () => {
    /** One GET request line to the front: status line and body. */
    const raw = (front: string, target: string) =>
      rawExchange(front, `GET ${target} HTTP/1.1\r\nHost: app.example\r\nOrigin: https://app.example\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n`);

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
      expect(reached).not.toContain(`/api/codex//${evilHost}/x`); // an empty segment: answered 404 by the proxy
      expect(reached.every((url) => url.startsWith("/api/codex"))).toBe(true);
    });

    it("answers 404 NOT_FOUND itself for an encoded slash, dot or backslash, or an empty segment, and forwards none", async () => {
      const pair = await startPair();
      const targets = [
        "/api/codex//status",
        "/api/codex/run//stream",
        "/api/codex/run%2fstream",
        "/api/codex/run%2Fstream",
        "/api/codex/login%5Cstart",
        "/api/codex/%2e%2e%2fstatus",
        "/api/codex/%2E%2e%5cstatus",
        "/api/codex/status%2e",
        "/api/codex/x/..%2fstatus",
      ];
      for (const target of targets) {
        const res = await raw(pair.front, target);
        expect(res.status, target).toBe(404);
        expect(res.text, target).toMatch(/\r\ncache-control: no-store\r\n/);
        expect(JSON.parse(res.text.slice(res.text.indexOf("\r\n\r\n") + 4)), target).toEqual({ ok: false, code: "NOT_FOUND", error: "Not found." });
        await expectProxyError(await pair.proxy(new Request(`https://app.example${target}`)), 404, "NOT_FOUND", pair);
      }
      expect(pair.seen).toEqual([]);
    });

    it("lets the URL parser resolve dot segments and backslashes, so only the canonical route is ever reached", async () => {
      const pair = await startPair();
      // Each names /api/codex/status once resolved, as the edge's own routing would see it; or leaves the base path.
      const targets = ["/api/codex/x/../status", "/api/codex/x/%2e%2E/status", "/api/codex/./status", "/api/codex/%2e/status"];
      for (const target of targets) expect((await raw(pair.front, target)).status, target).toBe(401);
      // A raw backslash the Node bridge refuses itself; a runtime's Request turns it into a slash before the proxy sees it.
      expect((await pair.proxy(new Request("https://app.example/api/codex\\status")))?.status).toBe(401);
      expect(pair.seen.map((s) => s.url)).toEqual([...targets, "backslash"].map(() => "/api/codex/status"));
      for (const target of ["/api/codex/.%2e/status", "/api/codex/%2e%2e/status"]) {
        const res = await raw(pair.front, target);
        expect(res.text, target).toContain("the app's own route"); // now /api/status: not the proxy's
      }
      expect(pair.seen).toHaveLength(targets.length + 1);
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

  describe("client mistakes, answered by the proxy alone", () => {
    /** A chunked body of these chunk sizes, each made as it is pulled, `delayMs` apart. */
    function upload(sizes: number[], delayMs = 0): ReadableStream<Uint8Array> {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          if (sent === sizes.length) return controller.close();
          controller.enqueue(new Uint8Array(sizes[sent]!).fill(0x61));
          sent += 1;
        },
      });
    }
    const tenMegabytes = Array.from({ length: 160 }, () => 64 * 1024);
    const postInit = (body: BodyInit, headers: Record<string, string> = {}) =>
      ({ method: "POST", body, duplex: "half", headers: { "content-type": "application/json", "sec-fetch-site": "same-origin", ...headers } }) as RequestInit;
    /** Over the sockets: the test client to the front, the front to the backend. */
    const post = (url: string, body: BodyInit) => fetch(url, postInit(body));
    /** The proxy called as a fetch runtime calls it; a Web Request carries Content-Length only when told to. */
    const postRequest = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
      new Request(`https://app.example/api/codex${path}`, postInit(body, headers));

    it("answers 405 METHOD_NOT_ALLOWED with Allow for PUT, DELETE, PATCH, HEAD and made-up methods, and the backend hears nothing", async () => {
      const pair = await startPair();
      for (const method of ["PUT", "DELETE", "PATCH", "PROPFIND", "HEAD"]) {
        const res = await rawExchange(pair.front, `${method} /api/codex/status HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n`);
        expect(res.status, method).toBe(405);
        expect(res.text, method).toMatch(/\r\nallow: GET, POST, OPTIONS\r\n/);
      }
      for (const method of ["PUT", "DELETE", "PATCH", "PROPFIND", "BREW", "head", "purge"]) {
        const res = await pair.proxy(new Request("https://app.example/api/codex/session", { method, headers: { "sec-fetch-site": "same-origin" } }));
        expect(res?.headers.get("allow"), method).toBe("GET, POST, OPTIONS");
        await expectProxyError(res, 405, "METHOD_NOT_ALLOWED", pair);
      }
      expect(pair.seen).toEqual([]);
    });

    it("answers 405, not 502, for TRACE, TRACK and CONNECT from a runtime whose Request carries them", async () => {
      const pair = await startPair();
      for (const method of ["TRACE", "TRACK", "CONNECT"]) {
        // Node's Request refuses these methods; another runtime's may not, so one is made to carry it.
        const request = new Request("https://app.example/api/codex/status");
        Object.defineProperty(request, "method", { value: method });
        await expectProxyError(await pair.proxy(request), 405, "METHOD_NOT_ALLOWED", pair);
      }
      expect(pair.seen).toEqual([]);
    });

    it("answers a declared Content-Length of 10^12 with 413 at once, reading nothing and forwarding nothing", async () => {
      const pair = await startPair();
      for (const target of ["/api/codex/run/stream", "/api/codex/__test/count"]) {
        const started = Date.now();
        const res = await rawExchange(
          pair.front,
          `POST ${target} HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 1000000000000\r\n\r\n`,
          2000,
        );
        expect(Date.now() - started, target).toBeLessThan(1000);
        expect(res.status, target).toBe(413);
        expect(res.text, target).toContain('"code":"BODY_TOO_LARGE"');
      }
      expect(pair.seen).toEqual([]);
    });

    it("refuses a 10 MB chunked upload with 413 BODY_TOO_LARGE, not 502, and forwards no more than the limit", async () => {
      const pair = await startPair();
      const before = received.length;
      const counted = await post(`${pair.api}/__test/count`, upload(tenMegabytes));
      await expectProxyError(counted, 413, "BODY_TOO_LARGE", pair);
      await until(() => received.length === before + 1);
      expect(received.at(-1)).toBeLessThanOrEqual(64 * 1024);

      // The real run route: 413 from the proxy, or the backend's own 4xx had it answered first; never an outage.
      const run = await post(`${pair.api}/run/stream`, upload(tenMegabytes));
      expect(run.status).toBeGreaterThanOrEqual(400);
      expect(run.status).toBeLessThan(500);
    });

    it("forwards a body of exactly maxBodyBytes (64 KiB by default) and refuses one byte more, declared or chunked", async () => {
      const pair = await startPair();
      const limit = 64 * 1024;
      expect(await (await post(`${pair.api}/__test/count`, "a".repeat(limit))).text()).toBe(`received ${limit}`);
      expect(await (await post(`${pair.api}/__test/count`, upload([limit]))).text()).toBe(`received ${limit}`);
      // One byte more is called as a runtime calls the proxy: the Node bridge may reset a socket whose upload it left unread.
      const forwarded = pair.seen.length;
      const declared = { "content-length": String(limit + 1) };
      await expectProxyError(await pair.proxy(postRequest("/__test/count", "a".repeat(limit + 1), declared)), 413, "BODY_TOO_LARGE", pair);
      expect(pair.seen).toHaveLength(forwarded); // declared: refused before the backend is contacted
      await expectProxyError(await pair.proxy(postRequest("/__test/count", upload([limit, 1]))), 413, "BODY_TOO_LARGE", pair);

      const small = await startPair({}, { maxBodyBytes: 10 });
      expect(await (await post(`${small.api}/__test/echo`, "0123456789")).text()).toBe("0123456789");
      await expectProxyError(await small.proxy(postRequest("/__test/echo", "0123456789x", { "content-length": "11" })), 413, "BODY_TOO_LARGE", small);
    });

    it("cuts an upload that passes the limit after the backend has answered, so the client sees a broken answer", async () => {
      const pair = await startPair({}, { maxBodyBytes: 4096 });
      const before = received.length;
      // Called as a runtime calls it: the Node bridge of these tests stops reading an upload once the answer has begun.
      const res = (await pair.proxy(postRequest("/__test/answer-first", upload(Array.from({ length: 16 }, () => 1024), 10))))!;
      expect(res.status).toBe(200); // the backend's answer had begun
      await expect(res.text()).rejects.toThrow();
      await until(() => received.length === before + 1);
      expect(received.at(-1)).toBeLessThanOrEqual(4096);
    });

    it("answers 408 BODY_TIMEOUT, not a hang or a 504, to a declared body that never comes or one that trickles too long", async () => {
      const pair = await startPair({}, { bodyTimeoutMs: 300 });
      const started = Date.now();
      // Undici sends nothing to the backend before the first body byte: without this timer the hop waits for the 504.
      const silent = await rawExchange(
        pair.front,
        `POST /api/codex/__test/count HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
        3000,
      );
      expect(Date.now() - started).toBeLessThan(1500);
      expect(silent.status).toBe(408);
      expect(silent.text).toContain('"code":"BODY_TIMEOUT"');

      const before = received.length;
      const trickled = await pair.proxy(postRequest("/__test/count", upload(Array.from({ length: 20 }, () => 10), 100)));
      await expectProxyError(trickled, 408, "BODY_TIMEOUT", pair);
      await until(() => received.length === before + 1); // the backend's request was cut, not left open
      expect(received.at(-1)).toBeLessThan(200);
    });

    it("answers 400 BAD_REQUEST for a Content-Length that is not one number, and forwards nothing", async () => {
      const pair = await startPair();
      for (const value of ["abc", "5, 5", "-1", "0x10", "1e3", "5.0", "+5"]) {
        await expectProxyError(await pair.proxy(postRequest("/run/stream", "hello", { "content-length": value })), 400, "BAD_REQUEST", pair);
      }
      expect(pair.seen).toEqual([]);
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
      for (const maxBodyBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => createCodexProxy({ backend: "https://x.example", maxBodyBytes }), String(maxBodyBytes)).toThrow(TypeError);
      }
      for (const bodyTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => createCodexProxy({ backend: "https://x.example", bodyTimeoutMs }), String(bodyTimeoutMs)).toThrow(TypeError);
      }
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
