import { errorMessage } from "../core/error-message.js";
import { jsonReply, rotatedReply, type RouteCall, type RouteDeps, type RouteReply } from "./shared.js";

/** POST /logout: runner.logout (best effort), delete the session, clear the cookie. Idempotent. */
export async function postLogout(deps: RouteDeps, call: RouteCall): Promise<RouteReply<"logout">> {
  const found = await deps.sessions.lookup(call.request);
  // The old id of a rotated session grants nothing, not even logout; the client retries with its new cookie.
  if (found.kind === "rotated") return rotatedReply();
  if (found.kind === "active") {
    const { session } = found;
    await deps.locks.stop(session.handle); // a run in flight ends now (on another instance: at its next lease renewal)
    try {
      await deps.opts.runner.logout(deps.sessions.contextFor(session));
    } catch (error) {
      deps.log.warn("runner.logout failed; the session is deleted anyway", { error: errorMessage(error) });
    }
    await deps.sessions.delete(session);
    await deps.locks.stop(session.handle); // and a run another instance started while the upstream revoke was under way
    deps.emit({ type: "logout", route: "logout" }, session);
  }
  return jsonReply(200, {}, { "set-cookie": deps.sessions.clearCookie() });
}
