/**
 * The server side of bench/server.bench.ts, run in a child process: one
 * framework (Express 5 or node:http) serving a trivial route and three codex
 * handlers: `/api/codex` (one signed-in session), `/full/api/codex` (the same
 * plus `idleSessions` idle ones), `/fresh/api/codex` (for POST /session floods),
 * and `/constant` (a Web handler of one's own that only returns a constant
 * Response: what the adapter costs a handler that is not ours, which gets a
 * real Request and has its Response streamed back).
 */
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { createCodexRouter } from "../src/backend/adapters/express.js";
import { toNodeListener, type NodeListener } from "../src/backend/adapters/node.js";
import { createCodexHandler, type CodexHandler } from "../src/backend/core/handler.js";
import { resolveOptions, type CodexHandlerOptions } from "../src/backend/core/options.js";
import { SessionManager } from "../src/backend/sessions/session-manager.js";
import { createMemorySessionStore } from "../src/backend/sessions/memory-store.js";
import type { SessionStore } from "../src/backend/sessions/types.js";
import { answerBench, SECRET, signedInRunner, signIn } from "./child-parts.js";

export interface ChildConfig {
  framework: "express" | "node";
  idleSessions: number;
}
export interface ChildReady {
  baseUrl: string;
  /** Cookie of a signed-in session on `/api/codex`. */
  cookie: string;
  /** Cookie of a signed-in session on `/full/api/codex`. */
  fullCookie: string;
  /** Heap bytes per idle session, measured while filling `/full` (NaN when none were made). */
  heapPerSession: number;
}

const TRIVIAL_BODY = JSON.stringify({ ok: true });
const PREFIXES = ["", "/full", "/fresh"] as const;

/** The least a Web-standard handler can do: the adapter's own cost, for comparison. */
const constantHandler: CodexHandler = async () =>
  new Response(TRIVIAL_BODY, { headers: { "content-type": "application/json; charset=utf-8" } });

/**
 * The handler's own session reader over the `/api/codex` handler's store: the
 * `/session-read` route is the trivial route plus reading its signed-in session
 * (cookie check, store read, opening the sealed data), and nothing else. What
 * any route that knows its user pays, before doing anything with it.
 */
let readSession: (cookie: string | undefined) => Promise<unknown> = async () => undefined;

async function main(config: ChildConfig): Promise<void> {
  const oneStore = createMemorySessionStore();
  const handlerOptions = (prefix: string, sessionStore?: SessionStore): CodexHandlerOptions => ({
    runner: signedInRunner,
    cookieSecret: SECRET,
    cookieOptions: { secure: false },
    // The built-in limiter stays on (its cost is part of POST /session), just wide enough for one IP's flood.
    rateLimits: { sessionCreatePerIp: { points: 1_000_000_000, durationSec: 60 } },
    basePath: `${prefix}/api/codex`,
    ...(sessionStore === undefined ? {} : { sessionStore }),
  });
  // The 50k idle sessions need a store whose ceiling holds them all (the default keeps 10,000).
  const fullStore = createMemorySessionStore({ maxSessions: config.idleSessions + 1_000 });
  const storeFor = (prefix: string) => (prefix === "" ? oneStore : prefix === "/full" ? fullStore : undefined);
  const handlers = PREFIXES.map((prefix) => createCodexHandler(handlerOptions(prefix, storeFor(prefix))));
  const reader = new SessionManager(resolveOptions(handlerOptions("", oneStore)));
  readSession = async (cookie) => {
    // Only the Cookie header is read: no Request is built, so the floor holds the session read alone.
    const view = { headers: { get: (name: string) => (name === "cookie" ? (cookie ?? null) : null) } };
    const found = await reader.lookup(view as unknown as Request);
    if (found.kind !== "active") throw new Error("bench: /session-read found no session");
    return found;
  };
  const [one, full] = handlers as [CodexHandler, CodexHandler, CodexHandler];
  const server = createServer(config.framework === "express" ? expressApp(handlers) : nodeListener(handlers));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const heapPerSession = config.idleSessions > 0 ? await fillIdleSessions(full, `${baseUrl}/full/api/codex`, config.idleSessions) : NaN;
  const ready: ChildReady = {
    baseUrl,
    cookie: await signIn((path, cookie) => post(one, `${baseUrl}/api/codex`, path, cookie)),
    fullCookie: await signIn((path, cookie) => post(full, `${baseUrl}/full/api/codex`, path, cookie)),
    heapPerSession,
  };
  answerBench(() => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  process.send?.(ready);
}

/**
 * One Express app per codex handler, each with the trivial route first and then
 * that handler's router: a codex route walks past exactly one other route (the
 * trivial one), as in an app with one codex router, never past the others here.
 */
function expressApp(handlers: CodexHandler[]): RequestListener {
  const appFor = (mount: (app: express.Express) => void) => {
    const app = express();
    app.disable("x-powered-by");
    app.set("etag", false); // the baseline as cheap as Express makes it (our routes never use Express's send)
    // First in the chain, so the baseline does not pay for walking past the codex router.
    app.all("/trivial", (_req, res) => {
      res.json({ ok: true }); // the idiomatic Express answer an app's own route would give
    });
    app.get("/session-read", (req, res, next) => {
      readSession(req.headers.cookie).then(() => res.json({ ok: true }), next);
    });
    mount(app);
    return app;
  };
  const [one, full, fresh] = handlers.map((handler, i) =>
    appFor((app) => app.use(createCodexRouter(handler, { basePath: `${PREFIXES[i]}/api/codex` }))),
  ) as [express.Express, express.Express, express.Express];
  const constant = appFor((app) => app.use(createCodexRouter(constantHandler, { basePath: "/constant" })));
  return (req, res) => {
    const url = req.url ?? "/";
    const app = url.startsWith("/full/") ? full : url.startsWith("/fresh/") ? fresh : url.startsWith("/constant") ? constant : one;
    app(req, res);
  };
}

function nodeListener(handlers: CodexHandler[]): RequestListener {
  const [one, full, fresh, constant] = [...handlers, constantHandler].map(toNodeListener) as [NodeListener, NodeListener, NodeListener, NodeListener];
  return (req, res) => {
    const url = req.url ?? "/";
    if (url === "/trivial") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(TRIVIAL_BODY);
      return;
    }
    if (url === "/session-read") {
      readSession(req.headers.cookie).then(
        () => res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(TRIVIAL_BODY),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const listener = url.startsWith("/full/") ? full : url.startsWith("/fresh/") ? fresh : url.startsWith("/constant") ? constant : one;
    void listener(req, res);
  };
}

function post(handler: CodexHandler, api: string, path: string, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = { origin: new URL(api).origin, host: new URL(api).host };
  if (cookie) headers.cookie = cookie;
  return handler(new Request(api + path, { method: "POST", headers }), { clientIp: "127.0.0.1" });
}

/** Makes `count` sessions exactly as `POST /session` does; returns heap bytes per session. */
async function fillIdleSessions(handler: CodexHandler, api: string, count: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("bench: run the server child with --expose-gc");
  await post(handler, api, "/session"); // warm up lazily built parts before measuring
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let made = 0; made < count; made += 100) {
    const batch = Array.from({ length: Math.min(100, count - made) }, () => post(handler, api, "/session"));
    for (const response of await Promise.all(batch)) if (response.status !== 200) throw new Error("bench: /session failed");
  }
  gc();
  gc();
  return (process.memoryUsage().heapUsed - before) / count;
}

const raw = process.env.CODEX_BENCH_CHILD;
if (raw) {
  main(JSON.parse(raw) as ChildConfig).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
