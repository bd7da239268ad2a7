import { jsonReply, rateLimited, rotatedReply, type RouteCall, type RouteDeps, type RouteReply } from "./shared.js";

/** POST /session: reuse a valid session, otherwise create one and set its cookie. */
export async function postSession(deps: RouteDeps, call: RouteCall): Promise<RouteReply<"session">> {
  const found = await deps.sessions.lookup(call.request);
  if (found.kind === "active") return jsonReply(200, { ok: true });
  // An old id racing its rotation must not mint a fresh cookie over the new, signed-in one.
  if (found.kind === "rotated") return rotatedReply();
  const limited = await rateLimited(deps, "session", [["sessionCreatePerIp", call.clientIp]]);
  if (limited !== null) return limited;
  const { session, setCookie } = await deps.sessions.create();
  deps.emit({ type: "session_created", route: "session" }, session);
  return jsonReply(200, { ok: true }, { "set-cookie": setCookie });
}
