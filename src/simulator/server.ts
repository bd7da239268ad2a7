import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { SimContext } from "./context.js";
import { BodyError, readBody, sendJson } from "./http.js";
import { findRoute, RESPONSES_PATH } from "./routes.js";
import { tokenEndpointOf } from "./oauth-routes.js";
import type { SimulatorOptions, SimulatorRequestInfo } from "./types.js";

/** Trailing slashes are ignored: the CLI joins base URLs with paths loosely. */
function normalisePath(pathname: string): string {
  const trimmed = pathname.replace(/\/{2,}/g, "/").replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** Keep the record of unknown requests bounded under load tests. */
const MAX_UNKNOWN = 1000;

function recordUnknown(ctx: SimContext, entry: string): void {
  if (ctx.stats.unknown.length < MAX_UNKNOWN) ctx.stats.unknown.push(entry);
}

function endpointLabel(route: ReturnType<typeof findRoute>, req: IncomingMessage, body: string): SimulatorRequestInfo["endpoint"] {
  if (route === undefined || route === "methodMismatch") return "unknown";
  return route.path === "/oauth/token" ? tokenEndpointOf(req, body) : route.endpoint;
}

async function handle(
  ctx: SimContext,
  options: SimulatorOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://simulator.invalid");
  const path = normalisePath(url.pathname);
  const method = req.method ?? "GET";
  const route = findRoute(method, path);
  let body = "";
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof BodyError) return sendJson(res, error.status, { error: { message: error.message, code: error.code } });
    throw error;
  }
  options.onRequest?.({
    method,
    url: req.url ?? "/",
    endpoint: endpointLabel(route, req, body),
    headers: req.headers,
    body,
  });
  if (route === undefined || route === "methodMismatch") {
    recordUnknown(ctx, `${method} ${path}`);
    const status = route === undefined ? 404 : 405;
    return sendJson(res, status, { detail: status === 404 ? "Not Found" : "Method Not Allowed" });
  }
  await route.handler(ctx, { req, res, url, body });
}

/** Answer a WebSocket upgrade with 426 on the responses path (the CLI then falls back to HTTP). */
function rejectUpgrade(ctx: SimContext, options: SimulatorOptions, req: IncomingMessage, socket: Duplex): void {
  const path = normalisePath(new URL(req.url ?? "/", "http://simulator.invalid").pathname);
  const onResponses = path === RESPONSES_PATH;
  options.onRequest?.({ method: req.method ?? "GET", url: req.url ?? "/", endpoint: "websocket", headers: req.headers, body: "" });
  if (onResponses) ctx.stats.websocket += 1;
  else recordUnknown(ctx, `UPGRADE ${path}`);
  const body = JSON.stringify({ detail: onResponses ? "Upgrade Required" : "Not Found" });
  const status = onResponses ? "426 Upgrade Required" : "404 Not Found";
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Listen with `ctx`'s routes; resolves with the bound port and a closer. */
export async function listen(
  ctx: SimContext,
  options: SimulatorOptions,
  host: string,
  port: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    handle(ctx, options, req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { detail: "simulator internal error" });
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req, socket) => rejectUpgrade(ctx, options, req, socket));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Hung requests and keep-alive connections would hold close() forever.
      for (const socket of sockets) socket.destroy();
    });
  return { port: bound, close };
}
