import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, RequestError } from "@hono/node-server";
import type { ErrorBody } from "../../contract.js";
import { createCodexHandler, type CodexHandler, type CodexRequestInfo } from "../core/handler.js";
import { FRAMED_BODY, type FramedBodyInfo } from "../http/body.js";
import type { CodexHandlerOptions } from "../core/options.js";
import { withConsumedBody } from "./consumed-body.js";
import { closingConnection, stillArriving } from "./unread-upload.js";

/** A `node:http` request listener; its promise settles once the answer is sent (or the client left). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** What a framework adapter knows of one request that Node's own request does not say. */
export interface NodeRequestFacts {
  /**
   * A body parser of the framework already read the body: reading it fails
   * with this error instead of finding it empty.
   */
  bodyConsumedError?: () => Error;
}

// Facts for requests in flight, set by the Express adapter just before it hands the request over.
const facts = new WeakMap<IncomingMessage, NodeRequestFacts>();

/**
 * Turns a Web-standard handler into a `node:http` request listener, with
 * `@hono/node-server`'s listener doing the conversion: a light `Request`
 * whose parts are built only when read, the `Response` written straight to
 * the socket, the body streamed with backpressure both ways, and the
 * request's signal aborted when the client goes away. This adapter adds the
 * peer address and the raw request target (so the handler can refuse a path
 * a URL parser would rewrite), JSON answers to requests Node cannot make a
 * Request of, and a closed connection after an upload left unread.
 *
 * Like `@hono/node-server` itself, it replaces the global `Request` and
 * `Response` with its lighter, compatible classes when first called.
 *
 * @example
 * http.createServer(toNodeListener(createCodexHandler(options))).listen(3000);
 */
export function toNodeListener(handler: CodexHandler): NodeListener {
  const listener = getRequestListener(
    async (request, env) => {
      const incoming = env.incoming as IncomingMessage;
      const consumed = facts.get(incoming)?.bodyConsumedError;
      // Node's parser ends a body at its Content-Length, so the handler may trust a declared length (a body
      // another middleware already read is a stand-in stream instead).
      const info: CodexRequestInfo & FramedBodyInfo = { clientIp: incoming.socket.remoteAddress, target: incoming.url, [FRAMED_BODY]: consumed === undefined };
      const response = await handler(consumed === undefined ? request : withConsumedBody(request, consumed), info);
      return (await stillArriving(incoming)) ? closingConnection(response) : response;
    },
    // A request no Web Request can be made of (a bad Host, a backslash in the path) or a handler of yours that
    // threw: JSON with a code, never an empty answer or a message of the error's. No autoCleanupIncoming: its
    // drain timer per POST cost the "POST /session (new session each)" bench row about a fifth of its CPU; an
    // upload still arriving closes the connection instead (below), and Node discards a body left unread.
    { hostname: "localhost", autoCleanupIncoming: false, errorHandler: (error) => (error instanceof RequestError ? jsonError(400, BAD_REQUEST_BODY) : jsonError(500, INTERNAL_BODY)) },
  );
  return async (req, res) => {
    if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) quietOnDestroy(req);
    await listener(req, res);
  };
}

/**
 * Node 22's `Readable.toWeb`, which makes the request body here, can emit a
 * chunk already read into the request's buffer after the body was cancelled
 * (an upload refused as too large or too slow), and its enqueue then throws
 * out of an event handler: an uncaught exception that would end the process.
 * Pausing the request and dropping its data listeners as it is destroyed
 * leaves nothing to emit that chunk. Seen on Node 22.23 (the Worker proxy's
 * 413 for a growing chunked upload in tests/backend/adapters/worker.test.ts),
 * not on Node 20 or 24.
 */
function quietOnDestroy(incoming: IncomingMessage): void {
  const destroy = incoming.destroy.bind(incoming);
  incoming.destroy = (error?: Error) => {
    incoming.pause();
    incoming.removeAllListeners("data");
    return destroy(error);
  };
}

/**
 * Serves one Node request with a Web-standard handler; shared by the Node,
 * Express and Fastify adapters. `facts` are what the framework knows beyond
 * Node's request.
 */
export function serveNodeRequest(listener: NodeListener, req: IncomingMessage, res: ServerResponse, known: NodeRequestFacts = {}): Promise<void> {
  if (known.bodyConsumedError !== undefined) facts.set(req, known);
  return listener(req, res);
}

/**
 * The contract as a `node:http` request listener. Answers every path: mount it
 * on a server of its own, or call it only for URLs under the base path.
 *
 * @example
 * http.createServer(createNodeHandler({ runner, cookieSecret: process.env.COOKIE_SECRET! })).listen(3000);
 */
export function createNodeHandler(options: CodexHandlerOptions): NodeListener {
  return toNodeListener(createCodexHandler(options));
}


const BAD_REQUEST_BODY = JSON.stringify({ ok: false, code: "BAD_REQUEST", error: "The request target or Host header is not valid." } satisfies ErrorBody);
const INTERNAL_BODY = JSON.stringify({ ok: false, code: "INTERNAL", error: "Internal error." } satisfies ErrorBody);

function jsonError(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", connection: "close" },
  });
}
