/**
 * How each adapter is started on 127.0.0.1 for the tests: one function per
 * adapter, shared by the adapter suite's files and the hostile corpus, so that
 * every test talks to the adapters exactly as they are set up here.
 */
import { createServer, type IncomingMessage, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono, type MiddlewareHandler } from "hono";
import { createCodexRouter } from "../../src/backend/adapters/express.js";
import { codexFastify, type CodexFastifyOptions } from "../../src/backend/adapters/fastify.js";
import { codexHono } from "../../src/backend/adapters/hono.js";
import { createCodexRouteHandlers, type CodexRouteHandlers } from "../../src/backend/adapters/next.js";
import { createNodeHandler, toNodeListener } from "../../src/backend/adapters/node.js";
import { createCodexProxy, type CodexProxy } from "../../src/backend/adapters/worker.js";
import type { CodexHandlerOptions } from "../../src/backend/core/options.js";
import type { StartedServer } from "./adapter-suite.js";

// Express 4 is installed under the alias `express4`; its API is the same for what we use.
export const express4 = createRequire(import.meta.url)("express4") as typeof express;

/** A node:http server on a free port of 127.0.0.1. */
export async function listen(listener: RequestListener): Promise<StartedServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Node adapter alone: createNodeHandler answers every path. */
export function startNode(options: CodexHandlerOptions): Promise<StartedServer> {
  return listen(createNodeHandler(options));
}

/** An Express app with the codex router and one route of its own after it. */
export function expressApp(make: typeof express, options: CodexHandlerOptions, before?: (app: express.Express) => void) {
  const app = make();
  before?.(app);
  app.use(createCodexRouter(options));
  app.get("/other", (_req, res) => {
    res.json({ other: true });
  });
  return app;
}

/** A Hono app on @hono/node-server: optional middleware first, the codex middleware (under app.all or a bare app.use) and a route of its own. */
export function startHono(
  options: CodexHandlerOptions,
  mount: "all" | "use" = "all",
  overrideGlobalObjects = true,
  before?: MiddlewareHandler,
): Promise<StartedServer> {
  const app = new Hono();
  if (before) app.use(before);
  if (mount === "all") app.all("/api/codex/*", codexHono(options));
  else app.use(codexHono(options));
  app.get("/other", (c) => c.json({ other: true }));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", overrideGlobalObjects }, (info: AddressInfo) => {
      resolve({
        baseUrl: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            if ("closeAllConnections" in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A Fastify app with the codex plugin and one JSON route of its own (Fastify's parser stays on for it). */
export async function startFastify(options: CodexFastifyOptions): Promise<StartedServer> {
  const app = Fastify();
  await app.register(codexFastify, options);
  app.post("/other", async (request) => ({ echoed: request.body }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

/**
 * Next.js calls an App Router route handler with a Web Request (and `{ params }`)
 * and streams its Response; next is not installed here, so node:http and our
 * Node helpers play that part. In front, a proxy appends the peer address to
 * X-Forwarded-For, as a platform like Vercel does, since Next passes no peer IP.
 */
export function nextLikeListener(routes: CodexRouteHandlers, proxy = true): RequestListener {
  const byMethod: Record<string, CodexRouteHandlers[keyof CodexRouteHandlers] | undefined> = { ...routes };
  return (req, res) => {
    const route = byMethod[req.method ?? ""];
    if (!route) {
      res.writeHead(405).end(); // Next answers methods the route does not export itself
      return;
    }
    if (proxy) appendForwardedFor(req);
    const params = Promise.resolve({ path: (req.url ?? "").split("?")[0]?.split("/").slice(3) });
    const call = route as (request: Request, context: unknown) => Promise<Response>;
    void toNodeListener((request) => call(request, { params }))(req, res);
  };
}

/** The Next.js route handlers behind a proxy that appends the peer address (trustProxy: true). */
export function startNextLike(options: CodexHandlerOptions): Promise<StartedServer> {
  return listen(nextLikeListener(createCodexRouteHandlers({ ...options, trustProxy: true })));
}

function appendForwardedFor(req: IncomingMessage): void {
  const peer = req.socket.remoteAddress ?? "";
  const prior = req.headers["x-forwarded-for"];
  req.headers["x-forwarded-for"] = prior ? `${String(prior)}, ${peer}` : peer;
}

/** The proxy as a fetch runtime serves it: its answer, or the app's own 404 for other paths. */
export function bridge(proxy: () => CodexProxy): RequestListener {
  return toNodeListener(async (request) => (await proxy()(request)) ?? new Response("the app's own route", { status: 404 }));
}

/** The Worker proxy, served by a Web bridge, in front of a Node backend running the handler. */
export async function startWorkerProxy(options: CodexHandlerOptions): Promise<StartedServer> {
  let proxy: CodexProxy | undefined;
  const front = await listen(bridge(() => proxy!));
  // Requests without Sec-Fetch-Site are judged by Origin against Host, and the backend's Host is not the public one.
  const allowedOrigins = [...(options.allowedOrigins ?? []), front.baseUrl];
  const backend = await startNode({ ...options, allowedOrigins });
  // The proxy's own body limits, kept equal to the backend's as DEPLOYMENT.md says.
  proxy = createCodexProxy({ backend: backend.baseUrl, maxBodyBytes: options.limits?.maxBodyBytes, bodyTimeoutMs: options.limits?.bodyTimeoutMs });
  return {
    baseUrl: front.baseUrl,
    close: async () => {
      await front.close();
      await backend.close();
    },
  };
}
