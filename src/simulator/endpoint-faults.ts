import type { ServerResponse } from "node:http";
import type { SimContext } from "./context.js";
import { sendJson } from "./http.js";
import type { SimulatorEndpoint } from "./types.js";

/** What Cloudflare serves when it challenges a client it does not trust. */
const CHALLENGE_HTML =
  '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>' +
  "<body><h1>Just a moment...</h1><p>Enable JavaScript and cookies to continue</p></body></html>";

/**
 * Count a request to `endpoint`, then apply the faults that can hit any endpoint
 * (hang, server-error, cloudflare-challenge). Returns true when a fault took the request over.
 */
export function enterEndpoint(ctx: SimContext, endpoint: SimulatorEndpoint, res: ServerResponse): boolean {
  ctx.stats[endpoint] += 1;
  if (ctx.faults.take("hang", endpoint)) {
    // Accept and never answer: the connection stays open until the client gives up or close().
    return true;
  }
  const serverError = ctx.faults.take("server-error", endpoint);
  if (serverError) {
    const status = serverError.status ?? 500;
    sendJson(res, status, { error: { message: "Internal server error", type: "server_error", code: null } });
    return true;
  }
  if (ctx.faults.take("cloudflare-challenge", endpoint)) {
    res.writeHead(403, {
      "content-type": "text/html; charset=UTF-8",
      "cf-mitigated": "challenge",
      "cache-control": "private, max-age=0, no-store, no-cache, must-revalidate",
      "content-length": Buffer.byteLength(CHALLENGE_HTML),
    });
    res.end(CHALLENGE_HTML);
    return true;
  }
  return false;
}

/** `body` with the fields of an active `tampered-answer` fault for `endpoint` written over it. */
export function tampered(ctx: SimContext, endpoint: SimulatorEndpoint, body: object): object {
  const fault = ctx.faults.take("tampered-answer", endpoint);
  return fault ? { ...body, ...fault.fields } : body;
}
