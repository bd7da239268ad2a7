import type { StatusLoggedOut } from "../../contract.js";
import type { RunnerStatus } from "../runners/types.js";
import { loginFailedUpstream } from "./login-failure.js";
import { jsonReply, publicAccount, rotatedReply, type RouteCall, type RouteDeps, type RouteReply } from "./shared.js";

const LOGGED_OUT_NO_SESSION: StatusLoggedOut = { ok: false, status: "logged_out", code: "NO_SESSION" };
const LOGGED_OUT: StatusLoggedOut = { ok: false, status: "logged_out", code: "NOT_AUTHENTICATED" };

/**
 * GET /status: asks the runner (which exchanges the device code once approved)
 * and rotates the session id the first time it comes back authenticated.
 */
export async function getStatus(deps: RouteDeps, call: RouteCall): Promise<RouteReply<"status">> {
  const found = await deps.sessions.lookup(call.request);
  if (found.kind === "rotated") return rotatedReply();
  if (found.kind === "none") return jsonReply(401, LOGGED_OUT_NO_SESSION);
  const { session } = found;

  const ctx = deps.sessions.contextFor(session);
  let status: RunnerStatus;
  try {
    status = await deps.opts.runner.getStatus(ctx);
  } catch (error) {
    // Keep whatever the runner changed before failing (e.g. a refreshed token), then report the failure.
    await deps.sessions.persistContext(session, ctx).catch(() => undefined);
    if (!session.authenticated) loginFailedUpstream(deps, "status", error, session);
    throw error;
  }
  session.data = ctx.data;

  if (status.status === "authenticated") {
    const account = publicAccount(status.account);
    if (session.authenticated) {
      await deps.sessions.persist(session);
      return jsonReply(200, { ok: true, account });
    }
    const setCookie = await deps.sessions.rotate(session, true);
    // Lost the race: another request rotated this id a moment ago and holds the new cookie.
    if (setCookie === null) return rotatedReply();
    deps.emit({ type: "login_succeeded", route: "status" }, session);
    return jsonReply(200, { ok: true, account }, { "set-cookie": setCookie });
  }

  if (status.status === "pending") {
    await deps.sessions.persist(session);
    return jsonReply(200, { ok: false, status: "pending" });
  }

  // Before a definitive answer, make sure a racing request did not just sign this session in under a new id.
  if (await rotatedMeanwhile(deps, call.request)) return rotatedReply();
  const wasAuthenticated = session.authenticated;
  session.authenticated = false;
  await deps.sessions.persist(session);
  if (status.status === "logged_out") {
    if (wasAuthenticated) deps.emit({ type: "logout", route: "status" }, session);
    return jsonReply(401, LOGGED_OUT);
  }
  if (status.status === "expired" || status.status === "denied") {
    const code = status.status === "expired" ? "LOGIN_EXPIRED" : "LOGIN_DENIED";
    deps.emit({ type: "login_failed", route: "status", code }, session);
    const error = status.status === "expired" ? "The login code expired; start again." : "The login was denied.";
    return jsonReply(200, { ok: false, status: status.status, code, error });
  }
  throw new TypeError("runner.getStatus returned an unexpected status");
}

async function rotatedMeanwhile(deps: RouteDeps, request: Request): Promise<boolean> {
  return (await deps.sessions.lookup(request)).kind === "rotated";
}
