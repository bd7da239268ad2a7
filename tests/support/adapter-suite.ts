import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CodexAuditEvent } from "../../src/backend/core/audit.js";
import type { CodexHandlerOptions } from "../../src/backend/core/options.js";
import { collect, createScriptedRunner, open, send, until, type Answer } from "./adapter-runner.js";

/** A server running one adapter on 127.0.0.1. */
export interface StartedServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  close(): Promise<void>;
}
export type StartAdapter = (options: CodexHandlerOptions) => Promise<StartedServer>;

const SECRET = "adapter-suite-Secret-9f3Kq2Lx7Vb1Zp";
const LISTED = "https://app.example";
const UNLISTED = "https://evil.example";
const MB = 1024 * 1024;

/**
 * The adapter conformance suite: every adapter gives the same answers over a
 * real socket, streams without buffering, aborts runs on disconnect, honours
 * backpressure and passes the socket's peer address as the client IP.
 */
/** What an adapter can see of the connection. */
export interface AdapterTraits {
  /**
   * The raw request target reaches the handler. False where only a Web Request
   * arrives (Next, an edge runtime): its URL parser resolved dot segments
   * before anything of the app's saw the path, so guards and routes agree.
   */
  rawTarget?: boolean;
}

// Paths a URL parser resolves to /api/codex/status, but that an app's guard matching the raw text would not.
const NON_CANONICAL_UNDER_BASE = ["/api/codex/x/../status", "/api/codex/%2e%2e/codex/status", "/api/codex/./status", "/api/codex/%2e/status", "/api/codex/%2E%2e/codex/status"];
// Not under the base path as raw text at all: nobody's route (the app's or its server's own 4xx may answer).
const NON_CANONICAL_OUTSIDE = ["/api/codex\\status", "/api/x/../codex/status"];

export function describeAdapter(name: string, start: StartAdapter, traits: AdapterTraits = {}): void {
  describe(`${name} adapter`, () => {
    const runner = createScriptedRunner();
    const events: CodexAuditEvent[] = [];
    let server: StartedServer;
    let api: string;
    let origin: string;

    beforeAll(async () => {
      server = await start({
        runner,
        cookieSecret: SECRET,
        allowedOrigins: [LISTED],
        rateLimits: false,
        // Short deadlines, so the slow-client tests below finish quickly.
        limits: { bodyTimeoutMs: 1000, writeTimeoutMs: 1000 },
        onEvent: (event) => events.push(event),
      });
      origin = server.baseUrl;
      api = `${server.baseUrl}/api/codex`;
    });
    afterAll(() => server.close());

    const post = (path: string, headers: Record<string, string> = {}, body?: string | Buffer[]) =>
      send(api + path, { method: "POST", headers: { origin, "content-type": "application/json", ...headers }, body });

    async function signIn(): Promise<string> {
      const created = await post("/session");
      expect(created.status).toBe(200);
      const cookie = cookieOf(created);
      const login = await post("/login/start", { cookie });
      expect(login.json()).toMatchObject({ ok: true, loggedIn: true });
      return login.headers["set-cookie"] ? cookieOf(login) : cookie; // rotated on login
    }

    it("answers an unknown path under the base path with 404 NOT_FOUND", async () => {
      const res = await send(`${api}/nope`);
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ code: "NOT_FOUND" });
      expect(res.headers["cache-control"]).toBe("no-store");
    });

    it("never runs a route for a path that is not canonical (dot segments, %2e, backslash), whatever a guard in front read", async () => {
      const cookie = await signIn();
      const canonical = await send(`${api}/status`, { headers: { cookie } });
      expect(canonical.status).toBe(200);
      for (const target of NON_CANONICAL_UNDER_BASE) {
        const res = await send(`${api}/status`, { target, headers: { cookie } });
        if (traits.rawTarget === false) {
          expect(res.status, target).toBe(200); // the same path every guard of the app saw
          continue;
        }
        expect(res.status, target).toBe(404);
        expect(res.json(), target).toMatchObject({ code: "NOT_FOUND" });
      }
      for (const target of NON_CANONICAL_OUTSIDE) {
        if (traits.rawTarget === false) continue;
        const res = await send(`${api}/status`, { target, headers: { cookie } });
        // The app's (or its server's) own refusal: @hono/node-server answers 400 to a backslash.
        expect([400, 404], target).toContain(res.status);
      }
      const login = await send(`${api}/login/start`, {
        method: "POST",
        target: "/api/codex/%2e%2e/codex/login/start",
        headers: { origin, cookie, "content-type": "application/json" },
      });
      expect(login.status).toBe(traits.rawTarget === false ? 200 : 404);
    });

    it("answers a wrong method with 405 METHOD_NOT_ALLOWED", async () => {
      const res = await send(`${api}/session`);
      expect(res.status).toBe(405);
      expect(res.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    });

    it("refuses a body over the limit with 413 BODY_TOO_LARGE (declared length)", async () => {
      const cookie = await signIn();
      const res = await post("/run/stream", { cookie }, JSON.stringify({ prompt: "x".repeat(100 * 1024) }));
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ code: "BODY_TOO_LARGE" });
    });

    it("refuses a chunked body without Content-Length that grows past the limit with 413", async () => {
      const cookie = await signIn();
      const chunks = Array.from({ length: 16 }, () => Buffer.alloc(16 * 1024, 0x61));
      const res = await post("/run/stream", { cookie }, chunks);
      expect(res.status).toBe(413);
      expect(res.json()).toMatchObject({ code: "BODY_TOO_LARGE" });
    });

    it("answers 413 to an upload still arriving and closes that connection instead of reading on", async () => {
      const cookie = await signIn();
      const req = httpRequest(`${api}/run/stream`, {
        method: "POST",
        agent: false,
        headers: { origin, cookie, "content-type": "application/json", connection: "keep-alive" },
      });
      req.on("error", () => {}); // the server may reset once it has answered
      const answered = new Promise<IncomingMessage>((resolve) => req.once("response", resolve));
      req.write(Buffer.alloc(80 * 1024, 0x61)); // over the limit, and the request never ends
      const res = await answered;
      expect(res.statusCode).toBe(413);
      expect(res.headers.connection).toBe("close");
      expect(JSON.parse(await collect(res))).toMatchObject({ code: "BODY_TOO_LARGE" });
      req.destroy();
    });

    it("answers invalid JSON with 400 BAD_JSON", async () => {
      const cookie = await signIn();
      const res = await post("/run/stream", { cookie }, "{not json");
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ code: "BAD_JSON" });
    });

    it("answers a non-JSON content type with 415", async () => {
      const cookie = await signIn();
      const res = await post("/run/stream", { cookie, "content-type": "text/plain" }, "hello");
      expect(res.status).toBe(415);
      expect(res.json()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    });

    it("rejects a cross-site POST with 403 CSRF_REJECTED", async () => {
      const res = await post("/session", { origin: UNLISTED, "sec-fetch-site": "cross-site" });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ code: "CSRF_REJECTED" });
      expect(res.headers["set-cookie"]).toBeUndefined();
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    });

    it("answers a CORS preflight for a listed origin only", async () => {
      const ask = (o: string) =>
        send(`${api}/session`, {
          method: "OPTIONS",
          headers: { origin: o, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });
      const listed = await ask(LISTED);
      expect(listed.status).toBeLessThan(300);
      expect(listed.headers["access-control-allow-origin"]).toBe(LISTED);
      expect(listed.headers["access-control-allow-credentials"]).toBe("true");
      expect(listed.headers.vary).toMatch(/Origin/);
      const unlisted = await ask(UNLISTED);
      expect(unlisted.headers["access-control-allow-origin"]).toBeUndefined();
      expect(unlisted.headers["access-control-allow-credentials"]).toBeUndefined();
    });

    it("sets the session cookie with HttpOnly, Secure, SameSite=Strict, Path=/ under the __Host- name", async () => {
      const res = await post("/session");
      const cookies = res.headers["set-cookie"] ?? [];
      expect(cookies).toHaveLength(1);
      const cookie = cookies[0] ?? "";
      expect(cookie).toMatch(/^__Host-codex_sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/);
      for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) expect(cookie).toContain(`; ${attr}`);
      expect(res.json()).toEqual({ ok: true });
    });

    it("streams NDJSON incrementally: the first line arrives before the run ends", async () => {
      const cookie = await signIn();
      const { res } = await open(`${api}/run/stream`, runRequest(origin, cookie, "gate"));
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/application\/x-ndjson/);
      const first = await firstLine(res);
      expect(JSON.parse(first)).toEqual({ type: "assistant-text", mode: "append", text: "Hello" });
      expect(runner.record.runEnded).toBe(false); // the run is still waiting on its gate
      runner.openGate();
      const rest = (await collect(res)).trim().split("\n").map((l) => JSON.parse(l) as { type: string });
      expect(rest.at(-1)?.type).toBe("done");
    });

    it("ends a run in flight within a second of logout, with a signed-out error line", async () => {
      const cookie = await signIn();
      const { res } = await open(`${api}/run/stream`, runRequest(origin, cookie, "hang"));
      await firstLine(res);
      const signal = runner.record.signal;
      const rest = collect(res);
      const loggedOutAt = Date.now();
      expect((await post("/logout", { cookie })).status).toBe(200);
      const tail = await rest;
      expect(Date.now() - loggedOutAt).toBeLessThan(1000);
      expect(signal?.aborted).toBe(true);
      expect(JSON.parse(tail.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
      await until(() => runner.record.runEnded);
    });

    it("gives up a run whose client stopped reading, so the session can run again", async () => {
      const cookie = await signIn();
      const stalled = await open(`${api}/run/stream`, runRequest(origin, cookie, "flood"));
      stalled.res.pause(); // reads nothing more: the socket fills and stays full
      const signal = runner.record.signal;
      await until(() => signal?.aborted === true && runner.record.runEnded, 5000);
      const again = await post("/run/stream", { cookie }, JSON.stringify({ prompt: "hello" }));
      expect(again.status).toBe(200);
      expect(again.text).toContain('"type":"done"');
      stalled.destroy();
    });

    it("closes the runner's iterator when a run ends, so the runner's finally runs", async () => {
      const cookie = await signIn();
      const res = await post("/run/stream", { cookie }, JSON.stringify({ prompt: "hello" }));
      expect(res.text).toContain('"type":"done"');
      await until(() => runner.record.runEnded, 1000);
    });

    it("answers 408 BODY_TIMEOUT to a body that stops arriving, within the deadline", async () => {
      const cookie = await signIn();
      const started = Date.now();
      const raw = await rawExchange(server.baseUrl, [
        `POST /api/codex/run/stream HTTP/1.1\r\nHost: ${new URL(server.baseUrl).host}\r\norigin: ${origin}\r\ncookie: ${cookie}\r\n` +
          `content-type: application/json\r\ncontent-length: 100\r\n\r\n{"prompt":`,
      ]);
      expect(raw.status).toBe(408);
      expect(JSON.parse(raw.body)).toMatchObject({ code: "BODY_TIMEOUT" });
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it("aborts the run when the client disconnects", async () => {
      const cookie = await signIn();
      const { res, destroy } = await open(`${api}/run/stream`, runRequest(origin, cookie, "hang"));
      await firstLine(res);
      const signal = runner.record.signal;
      expect(signal?.aborted).toBe(false);
      destroy();
      await until(() => signal?.aborted === true && runner.record.runEnded);
    });

    it("pulls from the runner only as the client reads (backpressure over a real socket)", async () => {
      const cookie = await signIn();
      const before = memory();
      const { res, destroy } = await open(`${api}/run/stream`, runRequest(origin, cookie, "flood"));
      res.pause(); // a client that stops reading a ~100 MB stream
      await settled(() => runner.record.pulled);
      const pulled = runner.record.pulled;
      const grown = memory() - before;
      destroy();
      await until(() => runner.record.runEnded);
      expect(pulled).toBeGreaterThan(0);
      // Socket buffers on loopback hold a few MB; the stream is 100 MB.
      expect(pulled * runner.floodChunk).toBeLessThan(24 * MB);
      expect(grown).toBeLessThan(48 * MB);
    });

    it("passes the socket's peer address as the client IP, ignoring X-Forwarded-For", async () => {
      events.length = 0;
      const res = await post("/session", { "x-forwarded-for": "203.0.113.7" });
      expect(res.status).toBe(200);
      const created = events.find((e) => e.type === "session_created");
      expect(created?.clientIp).toBe("127.0.0.1");
    });
  });
}

function cookieOf(res: Answer): string {
  const header = res.headers["set-cookie"]?.[0];
  if (!header) throw new Error(`no Set-Cookie (status ${res.status}): ${res.text}`);
  return header.split(";")[0] as string;
}

function runRequest(origin: string, cookie: string, prompt: string) {
  return {
    method: "POST",
    headers: { origin, cookie, "content-type": "application/json" },
    body: JSON.stringify({ prompt }),
  };
}

/** Writes raw bytes on a fresh socket, then reads one HTTP/1.1 answer (Content-Length body) or gives up after 5 s. */
function rawExchange(baseUrl: string, parts: string[]): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      for (const part of parts) socket.write(part);
    });
    let received = "";
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in 5 s: ${received}`));
    }, 5000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      const head = received.indexOf("\r\n\r\n");
      if (head === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, head))?.[1] ?? NaN);
      const body = received.slice(head + 4);
      if (Number.isNaN(length) || Buffer.byteLength(body) < length) return;
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ status: Number(received.slice(9, 12)), body });
    });
    socket.on("error", (error) => {
      clearTimeout(giveUp);
      reject(error);
    });
  });
}

/** Resolves with the first NDJSON line of a response; the rest stays readable. */
export function firstLine(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const nl = buffered.indexOf("\n");
      if (nl === -1) return;
      res.off("data", onData);
      res.pause();
      res.unshift(Buffer.from(buffered.slice(nl + 1)));
      resolve(buffered.slice(0, nl));
    };
    res.on("data", onData);
    res.once("error", reject);
    res.once("end", () => reject(new Error(`stream ended before a line: ${buffered}`)));
  });
}

/** Resolves once `value()` has stopped changing for a while (or after 5 s). */
async function settled(value: () => number): Promise<void> {
  const deadline = Date.now() + 5000;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const now = value();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 400) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
