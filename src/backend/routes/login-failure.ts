/**
 * A sign-in that failed upstream (the runner threw while starting or polling a
 * device login): before, the browser got a code and the server said nothing.
 * Now the operator gets a log line with the cause (redacted by the logger) and
 * `onEvent` a `login_failed` event, and the error goes on to the browser as before.
 */
import { CodexError, isServerErrorCode } from "../core/errors.js";
import { errorMessage } from "../core/error-message.js";
import type { ActiveSession } from "../sessions/session-manager.js";
import type { RouteDeps } from "./shared.js";

// Deep enough for "could not be reached" ← "fetch failed" ← "connect ECONNREFUSED …".
const MAX_CAUSES = 4;

const MESSAGES = {
  loginStart: "codex-auth: POST /login/start failed upstream; the sign-in did not start",
  status: "codex-auth: GET /status failed upstream while polling a sign-in",
} as const;

/**
 * Logs and audits a login route's upstream failure; returns nothing, the caller rethrows.
 *
 * @example
 * catch (error) { loginFailedUpstream(deps, "loginStart", error, session); throw error; }
 */
export function loginFailedUpstream(deps: RouteDeps, route: keyof typeof MESSAGES, error: unknown, session: ActiveSession): void {
  // As the answer maps it: a code outside the contract is INTERNAL.
  const code = error instanceof CodexError && isServerErrorCode(error.code) ? error.code : "INTERNAL";
  deps.emit({ type: "login_failed", route, code }, session);
  deps.log.warn(MESSAGES[route], { code, error: errorMessage(error), cause: causeChain(error) });
}

/** The messages (and system error codes such as ECONNREFUSED) of an error's causes, outermost first. */
export function causeChain(error: unknown): string {
  const parts: string[] = [];
  let current = error instanceof Error ? error.cause : undefined;
  while (current !== undefined && current !== null && parts.length < MAX_CAUSES) {
    const systemCode = (current as { code?: unknown }).code;
    const text = errorMessage(current);
    parts.push(typeof systemCode === "string" && !text.includes(systemCode) ? `${systemCode}: ${text}` : text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.length === 0 ? "none recorded" : parts.join(" <- ");
}
