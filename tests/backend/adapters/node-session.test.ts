import { createServer, request as httpRequest, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createRequire } from "node:module";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createCodexRouter } from "../../../src/backend/adapters/express.js";
import { toNodeListener } from "../../../src/backend/adapters/node.js";
import { createCodexHandler, type CodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { collect, createScriptedRunner, until, type ScriptedRunner } from "../../support/adapter-runner.js";
import { firstLine } from "../../support/adapter-suite.js";

// Express 4 is installed under the alias `express4`.
const express4 = createRequire(import.meta.url)("express4") as typeof express;

const SECRET = "node-adapter-tests-Secret-7Rk2Pq9Wx4Lz";
const LISTED = "https://app.example";
const UNLISTED = "https://evil.example";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

interface Started {
  port: number;
  /** `http://127.0.0.1:<port>`: what a same-origin page sends as Origin. */
  origin: string;
}

async function listen(listener: RequestListener): Promise<Started> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, origin: `http://127.0.0.1:${port}` };
}

const adapters: Array<[string, (handler: CodexHandler) => RequestListener]> = [
  ["Node http", (handler) => toNodeListener(handler)],
  ["Express 5", (handler) => express().use(createCodexRouter(handler))],
  ["Express 4", (handler) => express4().use(createCodexRouter(handler))],
];

function handlerOptions(runner: ScriptedRunner = createScriptedRunner()): CodexHandlerOptions {
  return { runner, cookieSecret: SECRET, allowedOrigins: [LISTED], rateLimits: false };
}

/** Two servers for one adapter: (a) the handler itself; (b) a wrapper of it, as an app might write one. */
async function startPair(make: (handler: CodexHandler) => RequestListener) {
  const ownRunner = createScriptedRunner();
  const wrappedRunner = createScriptedRunner();
  const ownHandler = createCodexHandler(handlerOptions(ownRunner));
  const inner = createCodexHandler(handlerOptions(wrappedRunner));
  const wrappedHandler: CodexHandler = (request, info) => inner(request, info);
  return {
    own: { ...(await listen(make(ownHandler))), runner: ownRunner },
    wrapped: { ...(await listen(make(wrappedHandler))), runner: wrappedRunner },
  };
}

interface Raw {
  status: number;
  /** Header lines as sent (names lower-cased), in order. */
  headers: Array<[string, string]>;
  text: string;
}

interface Call {
  method?: string;
  /** The request target exactly as sent on the wire. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request over its own keep-alive socket, the target sent verbatim (no URL normalisation on the client). */
function call(port: number, c: Call): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: c.path,
        method: c.method ?? "GET",
        agent: false,
        headers: { connection: "keep-alive", ...c.headers },
      },
      (res) => {
        collect(res).then((text) => {
          resolve({ status: res.statusCode ?? 0, headers: pairs(res), text });
          req.destroy();
        }, reject);
      },
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

function pairs(res: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) out.push([(res.rawHeaders[i] as string).toLowerCase(), res.rawHeaders[i + 1] as string]);
  return out;
}

/** Headers to compare across paths: Date's value dropped, cookie values replaced (they are random), sorted. */
function comparableHeaders(headers: Array<[string, string]>): string[] {
  return headers
    .map(([name, value]) => {
      if (name === "date") return "date: <now>";
      if (name === "set-cookie") return `set-cookie: ${value.replace(/^([^=]*)=[^;]*/, "$1=<value>")}`;
      return `${name}: ${value}`;
    })
    .sort();
}

function header(raw: Raw, name: string): string | undefined {
  return raw.headers.find(([n]) => n === name)?.[1];
}

/** The body as data: JSON, NDJSON lines, or the text itself. */
function comparableBody(raw: Raw): unknown {
  const type = header(raw, "content-type") ?? "";
  if (type.startsWith("application/json")) return JSON.parse(raw.text);
  if (type.startsWith("application/x-ndjson")) return raw.text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
  return raw.text;
}

/** A cookie jar for one session cookie. */
class Jar {
  cookie: string | undefined;
  take(raw: Raw): void {
    for (const [name, value] of raw.headers) {
      if (name !== "set-cookie") continue;
      const pair = value.split(";")[0] as string;
      this.cookie = /max-age=0/i.test(value) ? undefined : pair;
    }
  }
  tampered(): string {
    const cookie = this.cookie ?? "";
    const last = cookie.at(-2) === "A" ? "B" : "A";
    return cookie.slice(0, -2) + last + cookie.slice(-1);
  }
}

interface Step {
  label: string;
  /** Builds the call for one server (its own Origin, its own cookie). */
  build(server: { origin: string; jar: Jar }): Call;
  /** What the answer must be (checked on both paths). */
  status: number;
  code?: string;
}

const json = { "content-type": "application/json" };

/** The script: every kind of answer the contract gives, in an order that signs in, runs and signs out. */
const steps: Step[] = [
  { label: "GET /status without a cookie", build: () => ({ path: "/api/codex/status" }), status: 401, code: "NO_SESSION" },
  {
    label: "POST /session from a cross-site Origin",
    build: () => ({ method: "POST", path: "/api/codex/session", headers: { origin: UNLISTED } }),
    status: 403,
    code: "CSRF_REJECTED",
  },
  {
    label: "POST /session cross-site with Sec-Fetch-Site",
    build: () => ({ method: "POST", path: "/api/codex/session", headers: { origin: UNLISTED, "sec-fetch-site": "cross-site" } }),
    status: 403,
    code: "CSRF_REJECTED",
  },
  {
    label: "POST /session same-origin",
    build: ({ origin }) => ({ method: "POST", path: "/api/codex/session", headers: { origin } }),
    status: 200,
  },
  {
    label: "GET /status with the new session (not signed in)",
    build: ({ jar }) => ({ path: "/api/codex/status", headers: { cookie: jar.cookie ?? "" } }),
    status: 401,
    code: "NOT_AUTHENTICATED",
  },
  {
    label: "GET /status with a tampered cookie",
    build: ({ jar }) => ({ path: "/api/codex/status", headers: { cookie: jar.tampered() } }),
    status: 401,
    code: "NO_SESSION",
  },
  {
    label: "POST /session with a JSON content type and an empty body, cookie present",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/session", headers: { origin, cookie: jar.cookie ?? "", ...json }, body: "" }),
    status: 200,
  },
  {
    label: "POST /login/start (signs in at once, rotates the cookie)",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/login/start", headers: { origin, cookie: jar.cookie ?? "" } }),
    status: 200,
  },
  {
    label: "GET /status signed in",
    build: ({ jar }) => ({ path: "/api/codex/status", headers: { cookie: jar.cookie ?? "" } }),
    status: 200,
  },
  {
    label: "GET /status with a query string",
    build: ({ jar }) => ({ path: "/api/codex/status?x=1&y=%2F", headers: { cookie: jar.cookie ?? "" } }),
    status: 200,
  },
  {
    label: "GET /api/codex/./status (a dot segment: not canonical, nobody's route)",
    build: ({ jar }) => ({ path: "/api/codex/./status", headers: { cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /api/codex/x/../status (a dot-dot segment: not canonical, nobody's route)",
    build: ({ jar }) => ({ path: "/api/codex/x/../status", headers: { cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /api/codex/%2e/status (an encoded dot segment: not canonical, nobody's route)",
    build: ({ jar }) => ({ path: "/api/codex/%2e/status", headers: { cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /api/codex/%73tatus (percent-encoding is not decoded)",
    build: ({ jar }) => ({ path: "/api/codex/%73tatus", headers: { cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /api/codex/status#frag (a fragment has no place in a request target)",
    build: ({ jar }) => ({ path: "/api/codex/status#frag", headers: { cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /api/codex/status/ (trailing slash)",
    build: () => ({ path: "/api/codex/status/" }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "GET /API/codex/status (case matters)",
    build: () => ({ path: "/API/codex/status" }),
    status: 404,
  },
  { label: "GET /api/codex/nope", build: () => ({ path: "/api/codex/nope" }), status: 404, code: "NOT_FOUND" },
  {
    label: "GET /session (wrong method)",
    build: () => ({ path: "/api/codex/session" }),
    status: 405,
    code: "METHOD_NOT_ALLOWED",
  },
  {
    label: "DELETE /status (wrong method)",
    build: () => ({ method: "DELETE", path: "/api/codex/status" }),
    status: 405,
    code: "METHOD_NOT_ALLOWED",
  },
  {
    label: "OPTIONS preflight from the listed origin",
    build: () => ({
      method: "OPTIONS",
      path: "/api/codex/run/stream",
      headers: { origin: LISTED, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    }),
    status: 204,
  },
  {
    label: "OPTIONS preflight from an unlisted origin",
    build: () => ({ method: "OPTIONS", path: "/api/codex/run/stream", headers: { origin: UNLISTED, "access-control-request-method": "POST" } }),
    status: 403,
    code: "CSRF_REJECTED",
  },
  {
    label: "OPTIONS preflight for the wrong method",
    build: () => ({ method: "OPTIONS", path: "/api/codex/status", headers: { origin: LISTED, "access-control-request-method": "DELETE" } }),
    status: 405,
    code: "METHOD_NOT_ALLOWED",
  },
  { label: "plain OPTIONS", build: () => ({ method: "OPTIONS", path: "/api/codex/status" }), status: 204 },
  {
    label: "POST /session cross-site from the listed origin (CORS headers on the answer)",
    build: ({ jar }) => ({
      method: "POST",
      path: "/api/codex/session",
      headers: { origin: LISTED, "sec-fetch-site": "cross-site", cookie: jar.cookie ?? "" },
    }),
    status: 200,
  },
  {
    label: "GET /status from the listed origin without a cookie (CORS on an error)",
    build: () => ({ path: "/api/codex/status", headers: { origin: LISTED } }),
    status: 401,
  },
  {
    label: "POST /run/stream as text/plain",
    build: ({ origin, jar }) => ({
      method: "POST",
      path: "/api/codex/run/stream",
      headers: { origin, cookie: jar.cookie ?? "", "content-type": "text/plain" },
      body: JSON.stringify({ prompt: "hello" }),
    }),
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    label: "POST /run/stream without a content type",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/run/stream", headers: { origin, cookie: jar.cookie ?? "" } }),
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    label: "POST /run/stream with invalid JSON",
    build: ({ origin, jar }) => ({
      method: "POST",
      path: "/api/codex/run/stream",
      headers: { origin, cookie: jar.cookie ?? "", ...json },
      body: "{not json",
    }),
    status: 400,
    code: "BAD_JSON",
  },
  {
    label: "POST /run/stream with a JSON array",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/run/stream", headers: { origin, cookie: jar.cookie ?? "", ...json }, body: "[]" }),
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    label: "POST /run/stream with a body over the limit",
    build: ({ origin, jar }) => ({
      method: "POST",
      path: "/api/codex/run/stream",
      headers: { origin, cookie: jar.cookie ?? "", ...json },
      body: JSON.stringify({ prompt: "x".repeat(100 * 1024) }),
    }),
    status: 413,
    code: "BODY_TOO_LARGE",
  },
  {
    label: "POST /run/stream (a whole run)",
    build: ({ origin, jar }) => ({
      method: "POST",
      path: "/api/codex/run/stream",
      headers: { origin, cookie: jar.cookie ?? "", ...json },
      body: JSON.stringify({ prompt: "hello" }),
    }),
    status: 200,
  },
  {
    label: "POST /api/codex/./logout (a dot segment on a POST: not canonical, nobody's route)",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/./logout", headers: { origin, cookie: jar.cookie ?? "" } }),
    status: 404,
    code: "NOT_FOUND",
  },
  {
    label: "POST /api/codex/logout",
    build: ({ origin, jar }) => ({ method: "POST", path: "/api/codex/logout", headers: { origin, cookie: jar.cookie ?? "" } }),
    status: 200,
  },
  {
    label: "GET /status after logout",
    build: ({ jar }) => ({ path: "/api/codex/status", headers: { cookie: jar.cookie ?? "" } }),
    status: 401,
    code: "NO_SESSION",
  },
];

/** Targets the Express router passes on to the app (not under the base path as written): Express answers them itself. */
const OUTSIDE_BASE_FOR_EXPRESS = ["//api/codex/status", "http://evil.example/api/codex/status"];

describe.each(adapters)("%s: the handler and a wrapper of it give the same answers", (name, make) => {
  it("for every step of a scripted session: status, body and headers", async () => {
    const { own, wrapped } = await startPair(make);
    const jars = { own: new Jar(), wrapped: new Jar() };
    for (const step of steps) {
      const a = await call(own.port, step.build({ origin: own.origin, jar: jars.own }));
      const b = await call(wrapped.port, step.build({ origin: wrapped.origin, jar: jars.wrapped }));
      jars.own.take(a);
      jars.wrapped.take(b);
      const context = `${name}: ${step.label}`;
      expect(a.status, context).toBe(step.status);
      expect(b.status, context).toBe(step.status);
      expect(comparableBody(a), context).toEqual(comparableBody(b));
      if (step.code !== undefined) expect(comparableBody(a), context).toMatchObject({ code: step.code });
      expect(comparableHeaders(a.headers), context).toEqual(comparableHeaders(b.headers));
    }
  });

  it("for paths with // and odd targets, the handler and a wrapper alike", async () => {
    const { own, wrapped } = await startPair(make);
    const targets = [
      "//api/codex/status",
      "http://evil.example/api/codex/status", // absolute-form: stays a path inside our origin
      "/api/codex",
      "/api/codex/",
      "/api/codex//status",
      "/api/codex/status%00",
      "/api/codex/sta%74us",
    ];
    for (const path of targets) {
      const a = await call(own.port, { path });
      const b = await call(wrapped.port, { path });
      expect(a.status, path).toBe(b.status);
      expect(comparableBody(a), path).toEqual(comparableBody(b));
      expect(comparableHeaders(a.headers), path).toEqual(comparableHeaders(b.headers));
      if (name === "Node http" || !OUTSIDE_BASE_FOR_EXPRESS.includes(path)) {
        expect(comparableBody(a), path).toMatchObject({ code: "NOT_FOUND" });
      }
    }
    // Targets the URL parser rewrites (a backslash is a slash in http URLs, %2e a dot): both paths refuse them alike.
    for (const path of ["/api/codex\\status", "/api/codex/.%2e/codex/status", "/api/codex/%2E/status?a=%ZZ"]) {
      const a = await call(own.port, { path });
      const b = await call(wrapped.port, { path });
      expect(a.status, path).toBe(b.status);
      expect(comparableBody(a), path).toEqual(comparableBody(b));
      expect(comparableHeaders(a.headers), path).toEqual(comparableHeaders(b.headers));
      // Never the status route: the handler refuses what a parser would rewrite; Express passes a backslash path on,
      // and on plain Node no Request can be made of a backslash path at all (400 BAD_REQUEST).
      expect(a.status, path).toBe(name === "Node http" && path.includes("\\") ? 400 : 404);
    }
  });

  it("answers 405 JSON to a method a Web Request cannot carry (TRACE)", async () => {
    // (A Web Request refuses TRACE, so the Web path cannot serve it at all; the core just sees a wrong method.)
    const { own } = await startPair(make);
    const res = await call(own.port, { method: "TRACE", path: "/api/codex/status" });
    expect(res.status).toBe(405);
    expect(comparableBody(res)).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    expect(header(res, "allow")).toBe("GET, OPTIONS");
  });

  it("answers 405 JSON on the Web path too, instead of dropping the connection, when a Web Request cannot carry the method", async () => {
    const { wrapped } = await startPair(make);
    const res = await call(wrapped.port, { method: "TRACE", path: "/api/codex/status" });
    expect(res.status).toBe(405);
    expect(comparableBody(res)).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    expect(header(res, "cache-control")).toBe("no-store");
  });
});

/** Sends a raw HTTP/1.1 request (repeated headers kept as written) and reads the whole answer. */
function rawRequest(port: number, head: string[], body = ""): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      socket.destroy();
      resolve(parseRaw(Buffer.concat(chunks)));
    });
    socket.write([...head, "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`, "", body].join("\r\n"));
  });
}

function parseRaw(bytes: Buffer): Raw {
  const split = bytes.indexOf("\r\n\r\n");
  if (split === -1) throw new Error(`no response head: ${bytes.toString("latin1")}`);
  const [statusLine, ...lines] = bytes.subarray(0, split).toString("latin1").split("\r\n");
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  let body = bytes.subarray(split + 4);
  if (headers.some(([n, v]) => n === "transfer-encoding" && v === "chunked")) body = dechunk(body);
  return { status: Number(statusLine?.split(" ")[1]), headers, text: body.toString("utf8") };
}

function dechunk(bytes: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = bytes.indexOf("\r\n", at);
    const size = parseInt(bytes.subarray(at, eol).toString("latin1"), 16);
    if (!(size > 0)) break;
    out.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

describe.each(adapters)("%s: repeated request headers", (name, make) => {
  async function both(build: (origin: string, port: number) => { head: string[]; body?: string }) {
    const { own, wrapped } = await startPair(make);
    const a = await rawRequest(own.port, build(own.origin, own.port).head, build(own.origin, own.port).body);
    const b = await rawRequest(wrapped.port, build(wrapped.origin, wrapped.port).head, build(wrapped.origin, wrapped.port).body);
    expect(comparableBody(a), name).toEqual(comparableBody(b));
    expect(comparableHeaders(a.headers), name).toEqual(comparableHeaders(b.headers));
    expect(a.status).toBe(b.status);
    return { a, b, own, wrapped };
  }

  it("rejects a POST carrying two Origin headers (the same origin twice) as cross-site on both paths", async () => {
    const { a } = await both((origin, port) => ({
      head: ["POST /api/codex/session HTTP/1.1", `Host: 127.0.0.1:${port}`, `Origin: ${origin}`, `Origin: ${origin}`],
    }));
    expect(a.status).toBe(403);
    expect(comparableBody(a)).toMatchObject({ code: "CSRF_REJECTED" });
    expect(header(a, "set-cookie")).toBeUndefined();
  });

  it("rejects two Origin headers even when one is the listed origin, and gives no CORS headers", async () => {
    const { a } = await both((origin, port) => ({
      head: ["POST /api/codex/session HTTP/1.1", `Host: 127.0.0.1:${port}`, `Origin: ${LISTED}`, `Origin: ${origin}`, "Sec-Fetch-Site: cross-site"],
    }));
    expect(a.status).toBe(403);
    expect(header(a, "access-control-allow-origin")).toBeUndefined();
  });

  it("accepts a single same-origin Origin over the same raw socket (the control case)", async () => {
    const { a } = await both((origin, port) => ({
      head: ["POST /api/codex/session HTTP/1.1", `Host: 127.0.0.1:${port}`, `Origin: ${origin}`],
    }));
    expect(a.status).toBe(200);
    expect(header(a, "set-cookie")).toMatch(/^__Host-codex_sid=/);
  });

  it("reads two Cookie headers as one list on both paths: a tampered copy next to the real one still finds the session", async () => {
    const { own, wrapped } = await startPair(make);
    const cookies: Record<string, string> = {};
    for (const [key, s] of [["own", own], ["wrapped", wrapped]] as const) {
      const created = await rawRequest(s.port, ["POST /api/codex/session HTTP/1.1", `Host: 127.0.0.1:${s.port}`, `Origin: ${s.origin}`]);
      cookies[key] = (header(created, "set-cookie") ?? "").split(";")[0] as string;
    }
    const ask = (s: Started, cookie: string, extra: string[]) =>
      rawRequest(s.port, ["GET /api/codex/status HTTP/1.1", `Host: 127.0.0.1:${s.port}`, ...extra, `Cookie: ${cookie}`]);
    // Changes one character of the MAC (counted from the end; never the last, whose spare bits may not count).
    const tamper = (c: string, at = 3) => `${c.slice(0, -at)}${c.at(-at) === "A" ? "B" : "A"}${c.slice(-at + 1)}`;
    for (const extra of [(c: string) => [`Cookie: ${tamper(c)}`], (c: string) => ["Cookie: other=1"]]) {
      const a = await ask(own, cookies.own as string, extra(cookies.own as string));
      const b = await ask(wrapped, cookies.wrapped as string, extra(cookies.wrapped as string));
      expect(a.status).toBe(401); // a live, not signed-in session: NOT_AUTHENTICATED (NO_SESSION would mean it was not found)
      expect(comparableBody(a)).toMatchObject({ code: "NOT_AUTHENTICATED" });
      expect(comparableBody(a)).toEqual(comparableBody(b));
      expect(comparableHeaders(a.headers)).toEqual(comparableHeaders(b.headers));
    }
    // Only tampered copies: no session, on both paths.
    const a = await ask(own, tamper(cookies.own as string), [`Cookie: ${tamper(cookies.own as string, 4)}`]);
    const b = await ask(wrapped, tamper(cookies.wrapped as string), [`Cookie: ${tamper(cookies.wrapped as string, 4)}`]);
    expect(comparableBody(a)).toMatchObject({ code: "NO_SESSION" });
    expect(comparableBody(a)).toEqual(comparableBody(b));
  });
});



/** Starts a run and resolves when the response head has arrived. */
function openRun(port: number, origin: string, cookie: string, prompt: string) {
  return new Promise<{ res: IncomingMessage; destroy(): void }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/api/codex/run/stream",
        method: "POST",
        agent: false,
        headers: { origin, cookie, ...json },
      },
      (res) => resolve({ res, destroy: () => req.destroy() }),
    );
    req.on("error", () => {}); // we may hang up ourselves
    req.once("error", reject);
    req.end(JSON.stringify({ prompt }));
  });
}

async function signIn(port: number, origin: string): Promise<string> {
  const jar = new Jar();
  jar.take(await call(port, { method: "POST", path: "/api/codex/session", headers: { origin } }));
  const login = await call(port, { method: "POST", path: "/api/codex/login/start", headers: { origin, cookie: jar.cookie ?? "" } });
  expect(comparableBody(login)).toMatchObject({ ok: true, loggedIn: true });
  jar.take(login);
  return jar.cookie ?? "";
}

describe.each(adapters)("%s: a run streamed through each path", (_name, make) => {
  it.each(["own", "wrapped"] as const)("%s handler: streams NDJSON as it comes, then ends with done", async (which) => {
    const pair = await startPair(make);
    const s = pair[which];
    const cookie = await signIn(s.port, s.origin);
    const { res } = await openRun(s.port, s.origin, cookie, "gate");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    expect(res.headers["transfer-encoding"]).toBe("chunked"); // not held back to be sent with a length
    expect(JSON.parse(await firstLine(res))).toEqual({ type: "assistant-text", mode: "append", text: "Hello" });
    expect(s.runner.record.runEnded).toBe(false); // the run waits on its gate: the line came before the end
    s.runner.openGate();
    const rest = (await collect(res)).trim().split("\n").map((l) => JSON.parse(l) as { type: string; text?: string });
    expect(rest).toEqual([
      { type: "assistant-text", mode: "append", text: ", world" },
      { type: "done", result: {} },
    ]);
  });

  it.each(["own", "wrapped"] as const)("%s handler: a client that disconnects mid-run aborts the run", async (which) => {
    const pair = await startPair(make);
    const s = pair[which];
    const cookie = await signIn(s.port, s.origin);
    const { res, destroy } = await openRun(s.port, s.origin, cookie, "hang");
    await firstLine(res);
    const signal = s.runner.record.signal;
    expect(signal?.aborted).toBe(false);
    expect(s.runner.record.runEnded).toBe(false);
    destroy();
    await until(() => signal?.aborted === true && s.runner.record.runEnded);
    // The session's run lock is released: a new run starts (not RUN_IN_PROGRESS).
    const again = await call(s.port, {
      method: "POST",
      path: "/api/codex/run/stream",
      headers: { origin: s.origin, cookie, ...json },
      body: JSON.stringify({ prompt: "hello" }),
    });
    expect(again.status).toBe(200);
    expect((comparableBody(again) as Array<{ type: string }>).at(-1)?.type).toBe("done");
  });
});

describe("the handler's Web Responses for a plain caller (no adapter)", () => {
  const API = "http://127.0.0.1/api/codex";

  it("have a readable body stream, .json() and .clone() like any Response", async () => {
    const handler = createCodexHandler({ ...handlerOptions(), cookieOptions: { secure: false } });
    const first = await handler(new Request(`${API}/session`, { method: "POST", headers: { origin: "http://127.0.0.1" } }));
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(first.headers.getSetCookie()).toHaveLength(1);
    expect(first.headers.getSetCookie()[0]).toMatch(/^codex_sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/;/);
    const chunks: Uint8Array[] = [];
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    expect(JSON.parse(Buffer.concat(chunks).toString("utf8"))).toEqual({ ok: true });
    expect(first.bodyUsed).toBe(true);

    const second = await handler(new Request(`${API}/status`));
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ ok: false, status: "logged_out", code: "NO_SESSION" });

    const notFound = await handler(new Request(`${API}/nope`));
    const copy = notFound.clone();
    expect(await copy.json()).toMatchObject({ code: "NOT_FOUND" });
    expect(await notFound.json()).toMatchObject({ code: "NOT_FOUND" }); // the original is still readable after its clone

    const preflight = await handler(new Request(`${API}/session`, { method: "OPTIONS", headers: { origin: LISTED, "access-control-request-method": "POST" } }));
    expect(preflight.status).toBe(204);
    expect(preflight.body).toBeNull();
    expect(preflight.headers.get("access-control-allow-origin")).toBe(LISTED);
  });

  it("stream a run as a readable NDJSON body for a plain caller", async () => {
    const handler = createCodexHandler({ ...handlerOptions(), cookieOptions: { secure: false } });
    const origin = "http://127.0.0.1";
    const created = await handler(new Request(`${API}/session`, { method: "POST", headers: { origin } }));
    let cookie = (created.headers.getSetCookie()[0] ?? "").split(";")[0] as string;
    const login = await handler(new Request(`${API}/login/start`, { method: "POST", headers: { origin, cookie } }));
    cookie = (login.headers.getSetCookie()[0] ?? cookie).split(";")[0] as string;
    const run = await handler(
      new Request(`${API}/run/stream`, { method: "POST", headers: { origin, cookie, ...json }, body: JSON.stringify({ prompt: "hello" }) }),
    );
    expect(run.status).toBe(200);
    const lines = (await run.clone().text()).trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(["assistant-text", "assistant-text", "done"]);
    expect((await run.text()).trim().split("\n")).toHaveLength(3);
  });
});
