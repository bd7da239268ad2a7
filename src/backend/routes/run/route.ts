import { readJsonObject } from "../../http/body.js";
import { errorMessage } from "../../core/error-message.js";
import { ndjsonReply } from "../../http/replies.js";
import { createRunStream } from "./run-stream.js";
import { validateRunRequest } from "./run-request.js";
import { errorReply, noSessionReply, rateLimited, rotatedReply, type RouteCall, type RouteDeps, type RouteReply } from "../shared.js";

/** POST /run/stream: one run per session at a time (across instances: a lease in the store), streamed as NDJSON, pulled at the reader's pace. */
export async function postRunStream(deps: RouteDeps, call: RouteCall): Promise<RouteReply<"runStream">> {
  const found = await deps.sessions.lookup(call.request);
  if (found.kind === "rotated") return rotatedReply();
  if (found.kind === "none") return noSessionReply();
  const { session } = found;
  if (!session.authenticated) return errorReply("NOT_AUTHENTICATED", "Sign in first.");

  const limited = await rateLimited(
    deps,
    "runStream",
    [
      ["runPerIp", call.clientIp],
      ["runPerSession", session.handle],
    ],
    session,
  );
  if (limited !== null) return limited;

  const body = await readJsonObject(call.request, deps.opts.maxBodyBytes, deps.opts.bodyTimeoutMs, call.framedBody);
  const { prompt, options } = validateRunRequest(body, deps.opts.runPolicy, deps.opts.maxPromptChars);

  const lock = await deps.locks.tryAcquire(session.handle);
  if (lock === null) {
    deps.emit({ type: "run_in_progress", route: "runStream", code: "RUN_IN_PROGRESS" }, session);
    return errorReply("RUN_IN_PROGRESS", "A run is already in progress for this session.");
  }

  const ctx = deps.sessions.contextFor(session);
  deps.emit({ type: "run_started", route: "runStream" }, session);
  const stream = createRunStream({
    runner: deps.opts.runner,
    ctx,
    prompt,
    runOptions: options,
    request: call.request,
    stopSignal: lock.signal,
    writeTimeoutMs: deps.opts.writeTimeoutMs,
    onUnexpected: (error) => deps.log.error("runner.run threw", { error: errorMessage(error) }),
    // Runs before the client sees the run's last line: the session is saved and the lease gone by the time it can
    // send its next request, which may reach another instance.
    onEnd: async (outcome, code) => {
      // The runner lost its login (revoked, refresh failed): the session is no longer signed in. A stop by the
      // lease (a logout, which deleted the session, or a lease lost in a store outage) says nothing about the login.
      if (code === "NOT_AUTHENTICATED" && !lock.signal.aborted) session.authenticated = false;
      try {
        await deps.sessions.persistContext(session, ctx);
      } catch (error) {
        deps.log.error("could not persist the session after a run", { error: errorMessage(error) });
      }
      await lock.release();
      if (outcome === "finished") deps.emit({ type: "run_finished", route: "runStream" }, session);
      else deps.emit({ type: "run_failed", route: "runStream", code: code ?? "RUN_FAILED" }, session);
    },
  });
  return ndjsonReply(stream);
}
