/**
 * What a started device login may show the browser. The built-in runners
 * already bound what they read upstream; the route checks again so that a
 * custom runner (or an upstream it trusts too much) cannot hand the page a
 * huge code or a link it should not follow.
 */
import { CodexError } from "../core/errors.js";

/** Device codes are short and typed by hand (OpenAI's look like `ABCD-12345`). */
const USER_CODE = /^[A-Za-z0-9-]{1,32}$/;
/** Longer than any real verification link; long enough for query parameters. */
export const MAX_LOGIN_URL_CHARS = 2048;
// Plain http only to a loopback host (a local simulator), as the browser client allows.
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
/** The largest epoch millisecond a Date can hold. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** A code the user can read and type: letters, digits and dashes, at most 32 of them. */
export function isDisplayableUserCode(value: unknown): value is string {
  return typeof value === "string" && USER_CODE.test(value);
}

/** An https link (or http to a loopback host), without user info, at most 2 KB. */
export function isNavigableLoginUrl(value: unknown): value is string {
  if (typeof value !== "string" || value.length > MAX_LOGIN_URL_CHARS) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // User info is how `https://auth.openai.com@evil.test` passes a glance.
  if (url.username !== "" || url.password !== "") return false;
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname));
}

/**
 * Throws UPSTREAM_UNAVAILABLE naming the first field a started login may not
 * show the browser; the message never holds the value itself.
 *
 * @example
 * assertBrowserSafeLogin({ loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-12345", expiresAt });
 */
export function assertBrowserSafeLogin(login: StartedLogin): void {
  const field = unusableField(login);
  if (field !== undefined) {
    throw new CodexError("UPSTREAM_UNAVAILABLE", `The sign-in service gave an unusable login ${field}.`);
  }
}

interface StartedLogin {
  loginUrl: unknown;
  userCode: unknown;
  expiresAt: unknown;
}

function unusableField(login: StartedLogin): string | undefined {
  if (!isDisplayableUserCode(login.userCode)) return "code";
  if (!isNavigableLoginUrl(login.loginUrl)) return "address";
  const expiresAt = login.expiresAt;
  if (typeof expiresAt !== "number" || !(expiresAt > 0 && expiresAt <= MAX_EPOCH_MS)) return "expiry time";
  return undefined;
}
