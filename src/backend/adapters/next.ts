import { createCodexHandler, type CodexHandler } from "../core/handler.js";
import { warnNoClientIp } from "../http/limits.js";
import type { CodexHandlerOptions } from "../core/options.js";

const NO_PEER_ADDRESS =
  "codex-auth: Next.js route handlers get no client address and trustProxy is off, so per-IP rate limits will never apply. " +
  "Set trustProxy behind a proxy you control that sets X-Forwarded-For (Vercel, a load balancer), or rateLimits: false if you limit elsewhere.";

/** A Next.js App Router route handler: Web `Request` in, `Response` out. */
export type CodexRouteHandler = (request: Request) => Promise<Response>;

/** The exports of `app/api/codex/[...path]/route.ts`. */
export interface CodexRouteHandlers {
  GET: CodexRouteHandler;
  POST: CodexRouteHandler;
  OPTIONS: CodexRouteHandler;
}

/**
 * The contract as Next.js App Router route handlers, for a catch-all route at
 * the base path (`app/api/codex/[...path]/route.ts` for the default `/api/codex`).
 * Next hands over a Web `Request` and streams the `Response` itself, so these
 * only call the handler. Next exposes no peer address: no client IP is passed.
 * Behind a proxy that sets X-Forwarded-For (Vercel, a load balancer) set
 * `trustProxy` so per-IP rate limits apply; without it they can never apply,
 * and this warns once when built (through `logger.warn`, else console.warn)
 * unless `rateLimits` is `false`. Use the Node.js runtime (`runtime = "nodejs"`)
 * with runners that need Node, and `dynamic = "force-dynamic"`.
 *
 * @example
 * // app/api/codex/[...path]/route.ts
 * export const { GET, POST, OPTIONS } = createCodexRouteHandlers({
 *   runner, cookieSecret: process.env.COOKIE_SECRET!, trustProxy: true,
 * });
 * export const dynamic = "force-dynamic";
 */
export function createCodexRouteHandlers(options: CodexHandlerOptions): CodexRouteHandlers;
/** Same, around a handler you built yourself. */
export function createCodexRouteHandlers(handler: CodexHandler): CodexRouteHandlers;
export function createCodexRouteHandlers(optionsOrHandler: CodexHandlerOptions | CodexHandler): CodexRouteHandlers {
  const handler = typeof optionsOrHandler === "function" ? optionsOrHandler : createCodexHandler(optionsOrHandler);
  if (typeof optionsOrHandler !== "function" && !optionsOrHandler.trustProxy && optionsOrHandler.rateLimits !== false) {
    warnNoClientIp(optionsOrHandler, NO_PEER_ADDRESS);
  }
  // One argument only: Next passes `{ params }` second, which must never be read as connection info.
  const route: CodexRouteHandler = (request) => handler(request);
  return { GET: route, POST: route, OPTIONS: route };
}
