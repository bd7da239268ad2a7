import { CodexError } from "../core/errors.js";
import { errorFields } from "../http/replies.js";
import { loginFailedUpstream } from "./login-failure.js";
import { assertBrowserSafeLogin } from "./login-result.js";
import {
  jsonReply,
  noSessionReply,
  publicAccount,
  rateLimited,
  rotatedReply,
  type RouteCall,
  type RouteDeps,
  type RouteReply,
} from "./shared.js";

/** POST /login/start: begins a device login under a new session id, or answers loggedIn (rotating the session on its first authentication). */
export async function postLoginStart(deps: RouteDeps, call: RouteCall): Promise<RouteReply<"loginStart">> {
  const found = await deps.sessions.lookup(call.request);
  if (found.kind === "rotated") return rotatedReply();
  if (found.kind === "none") return noSessionReply();
  const { session } = found;
  const limited = await rateLimited(
    deps,
    "loginStart",
    [
      ["loginStartPerIp", call.clientIp],
      ["loginStartPerSession", session.handle],
    ],
    session,
  );
  if (limited !== null) return limited;

  const ctx = deps.sessions.contextFor(session);
  let result;
  try {
    result = await deps.opts.runner.startDeviceLogin(ctx);
  } catch (error) {
    await deps.sessions.persistContext(session, ctx);
    if (error instanceof CodexError && error.code === "DEVICE_AUTH_NOT_ENABLED") {
      deps.emit({ type: "login_failed", route: "loginStart", code: error.code }, session);
      // The contract names this answer twice: `errorCode` (LoginDeviceAuthDisabled) beside the usual `code`.
      return jsonReply(error.status, { errorCode: "DEVICE_AUTH_NOT_ENABLED", ...errorFields(error) });
    }
    loginFailedUpstream(deps, "loginStart", error, session);
    throw error;
  }
  session.data = ctx.data;

  if (result.status === "authenticated") {
    if (!session.authenticated) {
      const setCookie = await deps.sessions.rotate(session, true);
      if (setCookie === null) return rotatedReply();
      deps.emit({ type: "login_succeeded", route: "loginStart" }, session);
      return jsonReply(200, { ok: true, loggedIn: true, account: publicAccount(result.account) }, { "set-cookie": setCookie });
    }
    await deps.sessions.persist(session);
    return jsonReply(200, { ok: true, loggedIn: true, account: publicAccount(result.account) });
  }

  if (result.status !== "started" || typeof result.loginUrl !== "string" || typeof result.userCode !== "string" || !Number.isFinite(result.expiresAt)) {
    throw new TypeError("runner.startDeviceLogin returned an unexpected result");
  }
  assertBrowserSafeLogin(result);
  // Fixation defence: the login continues under a new id that only this answer carries, so an id
  // known before the login (a planted cookie) never reaches it; sign-in rotates once more.
  const setCookie = await deps.sessions.rotate(session, false);
  if (setCookie === null) return rotatedReply();
  deps.emit({ type: "login_started", route: "loginStart" }, session);
  return jsonReply(200, { loginUrl: result.loginUrl, userCode: result.userCode, expiresAt: result.expiresAt }, { "set-cookie": setCookie });
}
