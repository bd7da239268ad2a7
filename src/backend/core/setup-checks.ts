/**
 * Setup problems the handler can see in a request and the server cannot see
 * itself: said once in the log, with the fix, since the browser only shows the
 * symptom (a cookie that never comes back, a 500).
 */
import type { Reply } from "../http/reply.js";

export const SECURE_COOKIE_ON_PLAIN_HTTP =
  "codex-auth: a Secure session cookie was set on a plain-HTTP request. Browsers drop it on any host but localhost " +
  "(Safari even there), so sign-in never sticks. Serve HTTPS (behind a proxy, have it send X-Forwarded-Proto: https), " +
  "or set cookieOptions: { secure: false } for local development only.";

export const SERVER_SETUP_ERROR = "codex-auth: a request failed on the server's setup";

/**
 * True when `reply` sets a Secure cookie and `request` came over plain HTTP
 * with no proxy saying the browser used HTTPS.
 *
 * @example
 * if (opts.secure && secureCookieOnPlainHttp(request, reply)) log.warn(SECURE_COOKIE_ON_PLAIN_HTTP);
 */
export function secureCookieOnPlainHttp(request: Request, reply: Reply): boolean {
  if (reply.headers["set-cookie"] === undefined || !request.url.startsWith("http:")) return false;
  // The proxy's word, taken without trustProxy: this only decides whether to warn.
  const forwarded = request.headers.get("x-forwarded-proto") ?? "";
  return !forwarded.toLowerCase().includes("https");
}
