import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorBody } from "../../contract.js";
import { coreOf, createCodexHandler, type CodexHandler, type ContractCore } from "../handler.js";
import type { CodexHandlerOptions } from "../options.js";
import type { Reply } from "../reply.js";
import { toIncomingRequest, toWebRequest, type ConvertedRequest, type ToWebRequestOptions } from "./node-request.js";
import { sendReply, sendWebResponse } from "./node-response.js";

/** A `node:http` request listener. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves one Node request with a Web-standard handler: converts, calls, streams
 * the answer back. Shared by the Node, Express and Fastify adapters; resolves
 * when done. A handler made by createCodexHandler is served through its core,
 * with no Web Request or Response built (the same decisions, less work); any
 * other handler gets a real Request and its Response is streamed back.
 */
export async function serveNodeRequest(
  handler: CodexHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): Promise<void> {
  const core = coreOf(handler);
  if (core !== undefined) return serveWithCore(core, req, res, options);
  let converted: ConvertedRequest;
  try {
    converted = toWebRequest(req, res, options);
  } catch {
    // A Web Request refuses some methods outright (CONNECT, TRACE, TRACK): no Web handler can be asked.
    res.writeHead(405, { ...JSON_ERROR_HEADERS(), connection: "close" }).end(UNCONVERTIBLE_BODY);
    return;
  }
  const { request, clientIp, releaseBody } = converted;
  let response: Response;
  try {
    response = await handler(request, { clientIp, target: options.url ?? req.url });
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

async function serveWithCore(core: ContractCore, req: IncomingMessage, res: ServerResponse, options: ToWebRequestOptions): Promise<void> {
  const { request, clientIp, releaseBody } = toIncomingRequest(req, res, options);
  let reply: Reply;
  try {
    reply = await core(request, { clientIp, target: options.url ?? req.url });
  } catch {
    reply = { status: 500, headers: JSON_ERROR_HEADERS(), body: INTERNAL_BODY }; // the core answers every error itself; a last resort
  }
  const released = releaseBody(); // usually a plain boolean: no extra turn
  const closeConnection = typeof released === "boolean" ? released : await released;
  if (res.destroyed || res.headersSent) {
    if (reply.body instanceof ReadableStream) await reply.body.cancel().catch(() => {});
    return;
  }
  const sending = sendReply(reply, res, { closeConnection });
  if (sending !== undefined) await sending;
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

const INTERNAL_BODY = JSON.stringify({ ok: false, code: "INTERNAL", error: "Internal error." } satisfies ErrorBody);
const UNCONVERTIBLE_BODY = JSON.stringify({ ok: false, code: "METHOD_NOT_ALLOWED", error: "This method is not supported." } satisfies ErrorBody);
const JSON_ERROR_HEADERS = (): Record<string, string> => ({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });

function internalErrorResponse(): Response {
  return new Response(INTERNAL_BODY, { status: 500, headers: JSON_ERROR_HEADERS() });
}
