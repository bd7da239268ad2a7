/**
 * The Node adapter at its edges: a client that leaves before the handler
 * reads the body, a body read whole by its declared length, and a Host header
 * that looks plain but does not parse.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { serveNodeRequest, toNodeListener, type NodeRequestFacts } from "../../../src/backend/adapters/node.js";
import { CodexError } from "../../../src/backend/core/errors.js";
import { FRAMED_BODY, readBoundedText, type FramedBodyInfo } from "../../../src/backend/http/body.js";
import { createCodexHandler, type CodexHandler } from "../../../src/backend/core/handler.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import type { SessionStore } from "../../../src/backend/sessions/types.js";
import { createScriptedRunner } from "../../support/adapter-runner.js";
import { until } from "../../support/until.js";

/** The scenario: the handler is busy this long after the client left, then reads the body. */
const handlerBusyMs = 20;
/** The scenario: every session read costs a round trip this long (a remote store). */
const storeLatencyMs = 5;

const SECRET = "node-request-tests-Secret-4Kx9Qw2Zr";
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** Sends a POST head and part (or all) of its body, then drops the connection. */
function sendAndLeave(port: number, head: string, body: string, leaveAfterMs = 30): void {
  const socket = connect(port, "127.0.0.1", () => {
    socket.write(`${head}\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), leaveAfterMs);
  });
  socket.on("error", () => undefined);
}

describe("a body first read after the client left", () => {
  it.each([
    ["part of the body", '{"prompt":', false],
    ["all of the body", '{"prompt":"hello there, this is exactly the whole body!!"}', false],
    ["part of the body", '{"prompt":', true],
    ["all of the body", '{"prompt":"hello there, this is exactly the whole body!!"}', true],
  ])("settles the read (%s arrived; read whole by its declared length: %s) instead of waiting forever", async (_case, sent, framed) => {
    let settle!: (outcome: string) => void;
    const outcome = new Promise<string>((resolve) => (settle = resolve));
    const port = await listen(
      createServer(
        toNodeListener(async (request) => {
          // The handler is busy (a Redis round trip, say) while the client leaves; then it reads the body.
          await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
          await new Promise((resolve) => setTimeout(resolve, handlerBusyMs));
          await readBoundedText(request, 65_536, 10_000, framed).then(
            (text) => settle(`read: ${text}`),
            (error: unknown) => settle(`rejected: ${(error as Error).message}`),
          );
          return new Response(null, { status: 204 });
        }),
      ),
    );
    const length = sent.length === 10 ? 100 : sent.length;
    sendAndLeave(port, `POST /api/codex/run/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}`, sent);
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("still pending after 2 s"), 2000));
    // Refused, or read as far as it arrived (the run would then see its aborted signal): never awaited forever.
    expect(await Promise.race([outcome, timeout])).toMatch(/^(rejected: |read: )/);
  });
});

describe("a body read whole by its declared length (Node's parser frames it)", () => {
  /** POSTs `body` through toNodeListener and answers with what the handler was told and read. */
  async function seenThrough(known: NodeRequestFacts | undefined, body: string) {
    let seen: { framed: unknown; text: string } | undefined;
    const listener = toNodeListener(async (request, info) => {
      const framed = (info as FramedBodyInfo | undefined)?.[FRAMED_BODY];
      const text = await readBoundedText(request, 1_024, 2_000, framed === true).catch((error: unknown) => `refused: ${(error as CodexError).code}`);
      seen = { framed, text };
      return new Response(null, { status: 204 });
    });
    const port = await listen(createServer((req, res) => void (known ? serveNodeRequest(listener, req, res, known) : listener(req, res))));
    await fetch(`http://127.0.0.1:${port}/api/codex/run/stream`, { method: "POST", body, headers: { "content-type": "application/json" } });
    return seen;
  }

  it("is what the Node adapter tells the handler, unless a middleware already read the body", async () => {
    expect(await seenThrough(undefined, '{"prompt":"hi"}')).toEqual({ framed: true, text: '{"prompt":"hi"}' });
    const consumed = await seenThrough({ bodyConsumedError: () => new CodexError("BAD_REQUEST", "read by a body parser") }, '{"prompt":"hi"}');
    expect(consumed).toEqual({ framed: false, text: "refused: BAD_REQUEST" });
  });

  it("still refuses a declared length over the limit unread, and still gives up on a body that does not come", async () => {
    expect(await seenThrough(undefined, "x".repeat(2_000))).toEqual({ framed: true, text: "refused: BODY_TOO_LARGE" });
    // A hand-made Request that declares a length and never sends it: the deadline still holds.
    const never = new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => undefined) });
    const request = new Request("http://x/api/codex/run/stream", { method: "POST", body: never, headers: { "content-length": "10" }, duplex: "half" } as RequestInit);
    const began = Date.now();
    await expect(readBoundedText(request, 1_024, 200, true)).rejects.toMatchObject({ code: "BODY_TIMEOUT" });
    expect(Date.now() - began).toBeLessThan(2_000);
  });
});

describe("through the handler, with a session store that takes its time", () => {
  it("every run request whose client left mid-body finishes (nothing is held forever)", async () => {
    const memory = createMemorySessionStore({ sweepIntervalMs: 0 });
    const slowStore: SessionStore = {
      ...memory,
      get: async (id) => {
        await new Promise((resolve) => setTimeout(resolve, storeLatencyMs));
        return memory.get(id);
      },
    };
    const runner = createScriptedRunner();
    const handler: CodexHandler = createCodexHandler({ runner, cookieSecret: SECRET, sessionStore: slowStore, rateLimits: false, cookieOptions: { secure: false } });
    let started = 0;
    let settled = 0;
    const listener = toNodeListener(handler);
    const port = await listen(
      createServer((req, res) => {
        started += 1;
        void listener(req, res).finally(() => (settled += 1));
      }),
    );
    const base = `http://127.0.0.1:${port}/api/codex`;
    const post = (path: string, cookie?: string) =>
      fetch(base + path, { method: "POST", headers: { origin: `http://127.0.0.1:${port}`, ...(cookie ? { cookie } : {}) } });
    let cookie = ((await post("/session")).headers.get("set-cookie") ?? "").split(";")[0] as string;
    const login = await post("/login/start", cookie);
    cookie = (login.headers.get("set-cookie") ?? cookie).split(";")[0] as string;
    expect(login.status).toBe(200);
    const before = settled;

    for (let i = 0; i < 10; i++) {
      sendAndLeave(
        port,
        `POST /api/codex/run/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nCookie: ${cookie}\r\nContent-Type: application/json\r\nContent-Length: 100`,
        '{"prompt":',
        1,
      );
    }
    await until(() => settled - before >= 10, 3000, "ten abandoned requests settled").catch(() => undefined);
    expect(started - before).toBe(10);
    expect(settled - before).toBe(10);
  });
});

describe("a Host that looks plain but does not parse", () => {
  it.each(["app.example:99999", "999.1.1.1", "[1:2]"])("gets the same answer from a handler and from a wrapper of it (Host %s)", async (host) => {
    const make = () => createCodexHandler({ runner: createScriptedRunner(), cookieSecret: SECRET, rateLimits: false, cookieOptions: { secure: false } });
    const fast = make();
    const web = make();
    const wrapped: CodexHandler = (request, info) => web(request, info);
    const answers: string[] = [];
    for (const handler of [fast, wrapped]) {
      const port = await listen(createServer(toNodeListener(handler)));
      const raw = await new Promise<string>((resolve) => {
        const socket = connect(port, "127.0.0.1", () =>
          socket.write(`GET /api/codex/status HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        );
        let text = "";
        socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
        socket.on("end", () => resolve(text));
      });
      answers.push((raw.split("\r\n")[0] ?? "") + " " + (raw.split("\r\n\r\n")[1] ?? ""));
    }
    // 999.1.1.1 is a plain name as far as Node is concerned; the other two cannot be an authority at all (RFC 9112: 400).
    expect(answers[0]).toMatch(host === "999.1.1.1" ? /^HTTP\/1\.1 401 .*NO_SESSION/ : /^HTTP\/1\.1 400 .*BAD_REQUEST/);
    expect(answers[1]).toBe(answers[0]);
  });
});
