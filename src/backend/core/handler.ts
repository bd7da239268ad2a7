import { ROUTES, type RouteName } from "../../contract.js";
import { safeEmitter, safeLogger } from "./audit.js";
import { FRAMED_BODY, isJsonContentType, type FramedBodyInfo } from "../http/body.js";
import { applyCors, preflightHeaders } from "../http/cors.js";
import { isCanonicalPath, pathOfTarget } from "../http/canonical-path.js";
import { isCsrfSafe } from "../http/csrf.js";
import { errorMessage } from "./error-message.js";
import { CodexError } from "./errors.js";
import { clientIpOf, createRateLimits, warnNoClientIp } from "../http/limits.js";
import { RunLocks } from "../routes/run/run-locks.js";
import { resolveOptions, type CodexHandlerOptions } from "./options.js";
import { secureCookieOnPlainHttp, SECURE_COOKIE_ON_PLAIN_HTTP, SERVER_SETUP_ERROR } from "./setup-checks.js";
import { errorReply } from "../http/replies.js";
import { toResponse, type Reply } from "../http/reply.js";
import { postLoginStart } from "../routes/login-start.js";
import { postLogout } from "../routes/logout.js";
import { postRunStream } from "../routes/run/route.js";
import { postSession } from "../routes/session.js";
import { tagOf, type RouteCall, type RouteDeps, type RouteReply } from "../routes/shared.js";
import { getStatus } from "../routes/status.js";
import { SessionManager } from "../sessions/session-manager.js";
import { outageWarner } from "../sessions/store-deadline.js";

/** Connection facts an adapter knows and a Request does not carry. */
export interface CodexRequestInfo {
  /** The peer address of the connection (used for per-IP rate limits). */
  clientIp?: string;
  /**
   * The request target exactly as the client sent it (path and query), when
   * the adapter can see it. A Web Request's URL has its dot segments already
   * resolved; with the raw target the handler refuses (404) a path that is not
   * canonical, which an app's own guard in front may have read differently.
   */
  target?: string;
}

/** The contract as one Web-standard function. */
export type CodexHandler = (request: Request, info?: CodexRequestInfo) => Promise<Response>;

type Method = "GET" | "POST";
// Each name's `run` must answer that route's contract type (RouteResponses in contract.ts).
type Route = { [Name in RouteName]: { name: Name; method: Method; run: (deps: RouteDeps, call: RouteCall) => Promise<RouteReply<Name>> } }[RouteName];

const NO_CLIENT_IP =
  "codex-auth: no client IP for this request, so per-IP rate limits were skipped. Pass { clientIp } from your adapter, " +
  "or set trustProxy (the number of proxies you control) so the handler reads X-Forwarded-For.";

const TABLE: ReadonlyArray<readonly [string, Route]> = [
  [ROUTES.session, { name: "session", method: "POST", run: postSession }],
  [ROUTES.loginStart, { name: "loginStart", method: "POST", run: postLoginStart }],
  [ROUTES.status, { name: "status", method: "GET", run: getStatus }],
  [ROUTES.runStream, { name: "runStream", method: "POST", run: postRunStream }],
  [ROUTES.logout, { name: "logout", method: "POST", run: postLogout }],
];

/**
 * Builds the contract handler once from options: `(Request) => Promise<Response>`.
 * Every security decision (cookies, CSRF, CORS, limits, rotation) lives here,
 * so every adapter inherits it. Throws at construction on a weak cookieSecret.
 *
 * @example
 * const handler = createCodexHandler({ runner, cookieSecret: process.env.COOKIE_SECRET! });
 * const response = await handler(request, { clientIp: "203.0.113.7" });
 */
export function createCodexHandler(options: CodexHandlerOptions): CodexHandler {
  const { deps, scoped, clientIpOf: clientIpFor } = handlerParts(options);
  const routes = new Map(TABLE.map(([path, route]) => [deps.opts.basePath + path, route]));
  const warnOutage = outageWarner(deps.log);
  let warnedPlainHttp = false;
  return async (request, info) => {
    const origin = request.headers.get("origin");
    const clientIp = clientIpFor(request, info);
    const call: RouteCall = { request, clientIp, framedBody: (info as FramedBodyInfo | undefined)?.[FRAMED_BODY] === true };
    const scopedDeps = scoped(clientIp);
    let reply: Reply;
    try {
      reply = await dispatch(scopedDeps, call, routes, origin, info?.target);
    } catch (error) {
      warnOutage(error);
      reply = failure(error, scopedDeps);
    }
    if (!warnedPlainHttp && deps.opts.secure && secureCookieOnPlainHttp(request, reply)) {
      warnedPlainHttp = true;
      deps.log.warn(SECURE_COOKIE_ON_PLAIN_HTTP);
    }
    applyCors(reply.headers, origin, deps.opts.allowedOrigins);
    return toResponse(reply);
  };
}

/** What the handler built from one options object shares with every request, and with `codex-auth/ai`. */
export interface HandlerParts {
  deps: RouteDeps;
  /** The deps for one request: audit events carry its client IP (and cost nothing without onEvent). */
  scoped(clientIp: string | undefined): RouteDeps;
  /** The request's client IP (peer, or forwarded under trustProxy); warns once when there is none. */
  clientIpOf(request: Request, info?: CodexRequestInfo): string | undefined;
}

// One registry per process, not per copy of this module: the CommonJS build bundles each entry on its own, so
// `codex-auth/backend/next` and `codex-auth/ai` would otherwise each keep a map and never share a session.
const REGISTRY = Symbol.for("codex-auth.handler-parts");
const partsByOptions: WeakMap<CodexHandlerOptions, HandlerParts> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new WeakMap()) as WeakMap<
  CodexHandlerOptions,
  HandlerParts
>;

/**
 * The sessions, limits, run locks and audit hook built from `options`, once per
 * options object: every handler and `codex-auth/ai` provider made from the same
 * object share them, so one run per session and the rate limits hold across both.
 */
export function handlerParts(options: CodexHandlerOptions): HandlerParts {
  const known = partsByOptions.get(options);
  if (known !== undefined) return known;
  const opts = resolveOptions(options);
  const log = safeLogger(opts.logger);
  const emitRaw = safeEmitter(options.onEvent, log);
  const audited = options.onEvent !== undefined;
  const deps: RouteDeps = {
    opts,
    sessions: new SessionManager(opts),
    limits: createRateLimits(options.rateLimits, opts.storeLimiterClient),
    locks: new RunLocks(opts.coordination),
    log,
    emit: () => undefined,
  };
  let warnedNoIp = options.rateLimits === false;
  const parts: HandlerParts = {
    deps,
    // Without an onEvent hook, audit events (and their SHA-256 tags) cost nothing.
    scoped: (clientIp) =>
      !audited
        ? deps
        : {
            ...deps,
            emit: (event, session) =>
              emitRaw({ ...event, ...tagOf(session), at: opts.now(), ...(clientIp === undefined ? {} : { clientIp }) }),
          },
    clientIpOf(request, info) {
      const clientIp = clientIpOf(request, info, opts.trustProxy);
      if (clientIp === undefined && !warnedNoIp) {
        warnedNoIp = true;
        warnNoClientIp(options, NO_CLIENT_IP);
      }
      return clientIp;
    },
  };
  partsByOptions.set(options, parts);
  return parts;
}

async function dispatch(
  deps: RouteDeps,
  call: RouteCall,
  routes: Map<string, Route>,
  origin: string | null,
  target: string | undefined,
): Promise<Reply> {
  const { request } = call;
  const path = pathOfTarget(target ?? pathOf(request.url));
  // "Paths match exactly": a path a URL parser would rewrite is nobody's route.
  const route = isCanonicalPath(path) ? routes.get(path) : undefined;
  if (route === undefined) return errorReply("NOT_FOUND", "Not found.");

  if (request.method === "OPTIONS") return options(deps, route, origin, request);
  if (request.method !== route.method) {
    return errorReply("METHOD_NOT_ALLOWED", `Use ${route.method}.`, { headers: { allow: `${route.method}, OPTIONS` } });
  }
  if (route.method === "POST") {
    if (!isCsrfSafe(request, deps.opts.allowedOrigins)) {
      deps.emit({ type: "csrf_rejected", route: route.name, code: "CSRF_REJECTED" });
      return errorReply("CSRF_REJECTED", "Cross-site request rejected.");
    }
    const type = request.headers.get("content-type");
    const needsJson = route.name === "runStream";
    if ((needsJson || type !== null) && !isJsonContentType(type)) {
      return errorReply("UNSUPPORTED_MEDIA_TYPE", "Send JSON (Content-Type: application/json).");
    }
  }
  return route.run(deps, call);
}

/** Preflight for listed origins only; a plain OPTIONS (no Origin) just lists the methods. */
function options(deps: RouteDeps, route: Route, origin: string | null, request: Request): Reply {
  if (origin === null) {
    return { status: 204, headers: { allow: `${route.method}, OPTIONS`, "cache-control": "no-store" }, body: null };
  }
  if (!deps.opts.allowedOrigins.has(origin)) {
    deps.emit({ type: "cors_rejected", route: route.name, code: "CSRF_REJECTED" });
    return errorReply("CSRF_REJECTED", "This origin is not allowed.");
  }
  const requested = request.headers.get("access-control-request-method");
  if (requested !== null && requested.toUpperCase() !== route.method) {
    return errorReply("METHOD_NOT_ALLOWED", `Use ${route.method}.`, { headers: { allow: `${route.method}, OPTIONS` } });
  }
  return { status: 204, headers: preflightHeaders(origin, [route.method]), body: null };
}

/** A thrown CodexError keeps its code and (already safe) message; anything else is INTERNAL, logged redacted. */
function failure(error: unknown, deps: RouteDeps): Reply {
  if (error instanceof CodexError) {
    // A 500 with a code is the server's own setup (a body parser in front, a CLI home that is not private).
    if (error.status >= 500 && error.code === "INTERNAL") deps.log.error(SERVER_SETUP_ERROR, { code: error.code, error: error.message });
    return errorReply(error.code, error.message, { status: error.status, details: error.details });
  }
  deps.log.error("codex handler failed", { error: errorMessage(error) });
  return errorReply("INTERNAL", "Something went wrong.");
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

const cache = new WeakMap<CodexHandlerOptions, CodexHandler>();

/**
 * Handles one request with a handler built (once per options object) from `options`.
 *
 * @example
 * export const POST = (request: Request) => handleCodexRequest(request, codexOptions);
 */
export async function handleCodexRequest(request: Request, options: CodexHandlerOptions, info?: CodexRequestInfo): Promise<Response> {
  let handler = cache.get(options);
  if (handler === undefined) {
    handler = createCodexHandler(options);
    cache.set(options, handler);
  }
  return handler(request, info);
}
