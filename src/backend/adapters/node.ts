import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorBody } from "../../contract.js";
import { createCodexHandler, type CodexHandler } from "../handler.js";
import type { CodexHandlerOptions } from "../options.js";
import { toWebRequest, type ToWebRequestOptions } from "./node-request.js";
import { sendWebResponse } from "./node-response.js";

/** A `node:http` request listener. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves one Node request with a Web-standard handler: converts, calls, streams
 * the answer back. Shared by the Node and Express adapters; resolves when done.
 */
export async function serveNodeRequest(
  handler: CodexHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): Promise<void> {
  const { request, clientIp, releaseBody } = toWebRequest(req, res, options);
  let response: Response;
  try {
    response = await handler(request, { clientIp });
  } catch {
    response = internalErrorResponse(); // the handler answers every error itself; this is only a last resort
  }
  const closeConnection = await releaseBody();
  if (res.destroyed || res.headersSent) {
    // The client left while the handler worked (or something else answered): stop the body's producer.
    await response.body?.cancel().catch(() => {});
    return;
  }
  await sendWebResponse(response, res, { closeConnection });
}

/**
 * Turns a Web-standard handler into a `node:http` request listener.
 *
 * @example
 * http.createServer(toNodeListener(createCodexHandler(options))).listen(3000);
 */
export function toNodeListener(handler: CodexHandler): NodeListener {
  return (req, res) => {
    void serveNodeRequest(handler, req, res).catch(() => res.destroy());
  };
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

function internalErrorResponse(): Response {
  const body: ErrorBody = { ok: false, code: "INTERNAL", error: "Internal error." };
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}
