import type { MiddlewareHandler } from "hono";
import { DEFAULT_BASE_PATH } from "../../contract.js";
import { CodexError } from "../core/errors.js";
import { createCodexHandler, type CodexHandler } from "../core/handler.js";
import type { CodexHandlerOptions } from "../core/options.js";
import { isUnder, trimSlash } from "./base-path.js";
import { withConsumedBody } from "./consumed-body.js";
import { closingConnection, stillArriving } from "./unread-upload.js";

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
    const request = c.req.raw.bodyUsed ? withConsumedBody(c.req.raw, bodyConsumedError) : c.req.raw;
    const response = await handler(request, {
      clientIp: typeof address === "string" ? address : undefined,
      // On Node the raw target is at hand (c.req.url has its dot segments resolved already).
      target: typeof incoming?.url === "string" ? incoming.url : undefined,
    });
    // node-server would drain an unread upload for a while; close instead, as the Node adapter does.
    return incoming && (await stillArriving(incoming)) ? closingConnection(response) : response;
  };
}

// A server misconfiguration, so 500; the message tells the developer the fix and holds no request data.
function bodyConsumedError(): Error {
  return new CodexError(
    "INTERNAL",
    "The request body was already read by another middleware: mount codexHono before middleware that reads the body (c.req.json(), validators).",
    { status: 500 },
  );
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

