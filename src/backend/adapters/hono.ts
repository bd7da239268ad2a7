import type { MiddlewareHandler } from "hono";
import { DEFAULT_BASE_PATH } from "../../contract.js";
import { CodexError } from "../errors.js";
import { createCodexHandler, type CodexHandler } from "../handler.js";
import type { CodexHandlerOptions } from "../options.js";
import { isUnder, trimSlash } from "./base-path.js";
import { consumedBody } from "./consumed-body.js";

/**
 * The contract as Hono middleware. Requests under the base path are answered
 * by the handler with `c.req.raw` (the Web `Request`, body unread); all others
 * go to `next()`, so it also works with a bare `app.use(codexHono(options))`.
 * Mount it before any middleware that reads the body (`c.req.json()`, a
 * validator): if one already did, a route that needs the body answers 500
 * `INTERNAL` saying so (never a hang, never a re-serialised body).
 *
 * Client IP: on `@hono/node-server` it is the socket's peer address; on other
 * runtimes (Workers, Deno, Bun) none is passed. Behind a proxy, or off Node,
 * set `trustProxy` so the handler reads the proxy's X-Forwarded-For entry;
 * without any client IP, per-IP rate limits are skipped (the handler logs a warning once).
 *
 * @example
 * const app = new Hono();
 * app.all("/api/codex/*", codexHono({ runner, cookieSecret: process.env.COOKIE_SECRET! }));
 * serve({ fetch: app.fetch, port: 3000 }); // @hono/node-server
 */
export function codexHono(options: CodexHandlerOptions): MiddlewareHandler;
/** Same, around a handler you built yourself; pass its base path if it is not the default. */
export function codexHono(handler: CodexHandler, mount?: { basePath?: string }): MiddlewareHandler;
export function codexHono(
  optionsOrHandler: CodexHandlerOptions | CodexHandler,
  mount: { basePath?: string } = {},
): MiddlewareHandler {
  const handler = typeof optionsOrHandler === "function" ? optionsOrHandler : createCodexHandler(optionsOrHandler);
  const basePath = trimSlash(
    (typeof optionsOrHandler === "function" ? mount.basePath : optionsOrHandler.basePath) ?? DEFAULT_BASE_PATH,
  );

  return async (c, next) => {
    if (!isUnder(c.req.path, basePath)) {
      await next();
      return;
    }
    const incoming = nodeIncoming(c.env);
    const address = incoming?.socket?.remoteAddress;
    // c.req.json() and the like read c.req.raw itself (Hono caches the result), so bodyUsed tells both cases.
    const request = c.req.raw.bodyUsed ? withConsumedBody(c.req.raw) : c.req.raw;
    const response = await handler(request, {
      clientIp: typeof address === "string" ? address : undefined,
      // On Node the raw target is at hand (c.req.url has its dot segments resolved already).
      target: typeof incoming?.url === "string" ? incoming.url : undefined,
    });
    // node-server would drain an unread upload for a while; close instead, as the Node adapter does.
    return incoming && (await stillArriving(incoming)) ? closingConnection(response) : response;
  };
}

/** The same request with a body that fails, when read, with the error that names the fix. */
function withConsumedBody(request: Request): Request {
  try {
    // `duplex` is required for a stream body on Node and is missing from TypeScript's RequestInit.
    const init = {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      body: consumedBody(bodyConsumedError),
      duplex: "half",
    };
    return new Request(request.url, init as RequestInit);
  } catch {
    // A method no Request may carry a body with (the handler refuses it anyway).
    return request;
  }
}

// A server misconfiguration, so 500; the message tells the developer the fix and holds no request data.
function bodyConsumedError(): Error {
  return new CodexError(
    "INTERNAL",
    "The request body was already read by another middleware: mount codexHono before middleware that reads the body (c.req.json(), validators).",
    { status: 500 },
  );
}

function closingConnection(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (e.g. a handler of your own returned a fetched Response): copy them.
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/** The parts of Node's request we read; typed structurally so that non-Node users need no Node types. */
interface NodeIncoming {
  complete?: boolean;
  url?: unknown;
  socket?: { remoteAddress?: unknown };
}

/** `@hono/node-server` puts Node's request in `c.env.incoming`; other runtimes have no such binding. */
function nodeIncoming(env: unknown): NodeIncoming | undefined {
  const incoming = (env as { incoming?: unknown } | undefined)?.incoming;
  return typeof incoming === "object" && incoming !== null ? (incoming as NodeIncoming) : undefined;
}

async function stillArriving(incoming: NodeIncoming): Promise<boolean> {
  if (incoming.complete !== false) return false;
  // A handler that answers at once runs before Node parses the rest of the packet: give it one turn.
  await new Promise((resolve) => setImmediate(resolve));
  return incoming.complete === false;
}
