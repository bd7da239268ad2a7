import type { FastifyPluginCallback, onRequestHookHandler } from "fastify";
import { DEFAULT_BASE_PATH } from "../../contract.js";
import { createCodexHandler, type CodexHandler } from "../core/handler.js";
import type { CodexHandlerOptions } from "../core/options.js";
import { serveNodeRequest, toNodeListener } from "./node.js";
import { trimSlash } from "./base-path.js";

/** The plugin's options: the handler's options, or a handler you built yourself and its base path. */
export type CodexFastifyOptions = CodexHandlerOptions | { handler: CodexHandler; basePath?: string };

/**
 * The contract as a Fastify plugin: it answers every method under `basePath`
 * (default `/api/codex`). Our routes are taken over in `onRequest` with
 * `reply.hijack()`, before Fastify parses anything, and served with the Node
 * helpers: the raw body streams to the handler (which enforces the limits),
 * the response streams back with backpressure, a disconnect aborts the run.
 * Fastify's body parsers, `bodyLimit` and reply hooks never see these routes.
 * Register it without a `prefix`; `basePath` is the full path the browser uses.
 * The client IP is the socket's peer address; behind a proxy set `trustProxy`
 * in these options (Fastify's own `trustProxy` does not reach the handler).
 *
 * @example
 * await app.register(codexFastify, { runner, cookieSecret: process.env.COOKIE_SECRET! });
 */
export const codexFastify: FastifyPluginCallback<CodexFastifyOptions> = (instance, options, done) => {
  if (instance.prefix !== "") {
    done(new TypeError("codexFastify: register it without a prefix and set `basePath` to the full path"));
    return;
  }
  const listener = toNodeListener("handler" in options ? options.handler : createCodexHandler(options));
  const basePath = trimSlash(options.basePath ?? DEFAULT_BASE_PATH);

  const serve: onRequestHookHandler = (request, reply, next) => {
    reply.hijack(); // Fastify stops here: no body parsing, no serialisation, no reply hooks
    void serveNodeRequest(listener, request.raw, reply.raw);
    next();
  };
  // Never reached: every request is answered in onRequest.
  const unreachable = () => undefined;
  instance.all(`${basePath}/*`, { onRequest: serve }, unreachable);
  if (basePath !== "") instance.all(basePath, { onRequest: serve }, unreachable);
  done();
};
