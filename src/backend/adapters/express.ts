import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_BASE_PATH } from "../../contract.js";
import { pathOfTarget } from "../http/canonical-path.js";
import { CodexError } from "../core/errors.js";
import { createCodexHandler, type CodexHandler } from "../core/handler.js";
import type { CodexHandlerOptions } from "../core/options.js";
import { serveNodeRequest, toNodeListener } from "./node.js";
import { isUnder, trimSlash } from "./base-path.js";

/** The parts of an Express (4 or 5) request the router uses; Express's own `Request` fits. */
export interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
  /** Set by Express 4's body-parser once it has read the body. */
  _body?: boolean;
}

/** An Express middleware, typed structurally so that Express 4 and 5 both accept it. */
export type CodexExpressMiddleware = (
  req: ExpressLikeRequest,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * The contract as Express middleware (Express 4 and 5). Requests under the
 * base path are answered by the handler; all others go to `next()`.
 * Mount it BEFORE any body parser (`express.json()`): it streams the raw body
 * to the handler, which enforces the limits. If a parser already read the
 * body, a route that needs it answers 500 `INTERNAL` (never a hang, never a
 * re-serialised body). `basePath` is the full path the browser uses, including
 * any mount path (`app.use("/app", …)` needs `basePath: "/app/api/codex"`).
 *
 * @example
 * app.use(createCodexRouter({ runner, cookieSecret: process.env.COOKIE_SECRET! }));
 * app.use(express.json()); // your own routes' parsers come after
 */
export function createCodexRouter(options: CodexHandlerOptions): CodexExpressMiddleware;
/** Same, around a handler you built yourself; pass its base path if it is not the default. */
export function createCodexRouter(handler: CodexHandler, mount?: { basePath?: string }): CodexExpressMiddleware;
export function createCodexRouter(
  optionsOrHandler: CodexHandlerOptions | CodexHandler,
  mount: { basePath?: string } = {},
): CodexExpressMiddleware {
  const handler = typeof optionsOrHandler === "function" ? optionsOrHandler : createCodexHandler(optionsOrHandler);
  const listener = toNodeListener(handler);
  const basePath = trimSlash(
    (typeof optionsOrHandler === "function" ? mount.basePath : optionsOrHandler.basePath) ?? DEFAULT_BASE_PATH,
  );

  return (req, res, next) => {
    // Express rewrites req.url under a mount path; the handler matches the full path itself.
    const url = req.originalUrl ?? req.url ?? "/";
    if (!isUnder(pathOfTarget(url), basePath)) {
      next();
      return;
    }
    const bodyConsumed = req.readableEnded || req._body === true;
    req.url = url; // the handler matches the full path the browser used
    void serveNodeRequest(listener, req, res, bodyConsumed ? { bodyConsumedError } : {});
  };
}

// A server misconfiguration, so 500; the message tells the developer the fix and holds no request data.
function bodyConsumedError(): Error {
  return new CodexError(
    "INTERNAL",
    "The request body was already read by a body parser: mount createCodexRouter before express.json().",
    { status: 500 },
  );
}
