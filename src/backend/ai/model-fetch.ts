import type { ServerErrorCode } from "../../contract.js";
import { CodexError } from "../core/errors.js";
import { asRecord } from "../core/json.js";
import { errorMessage } from "../core/error-message.js";
import type { RouteDeps } from "../routes/shared.js";
import type { CodexRunner, RunnerContext } from "../runners/types.js";
import type { ActiveSession } from "../sessions/session-manager.js";
import { toApiCallError } from "./api-error.js";
import { collectResponse } from "./collect-response.js";
import { parseJson } from "../runners/direct/http.js";

/** What one model call needs of the session it runs for. */
export interface ModelCallScope {
  deps: RouteDeps;
  session: ActiveSession;
  ctx: RunnerContext;
  responses: NonNullable<CodexRunner["responses"]>;
  /** Several model calls of one session at once (the app opted out of one run per session). */
  concurrent: boolean;
}

/**
 * The `fetch` the AI SDK's OpenAI provider calls: each call is one run on the
 * session's account. It holds the session's run lock while it streams (so
 * logout stops it), records run events, saves refreshed tokens, and answers
 * the SDK's non-streamed requests with the completed response, since the
 * Codex backend only streams. Its failures are APICallErrors carrying our
 * codes; the token never enters anything it returns.
 */
export function modelFetch(scope: ModelCallScope): typeof fetch {
  return async (_input, init) => {
    const body = asRecord(typeof init?.body === "string" ? parseJson(init.body) : undefined);
    if (body === undefined) throw toApiCallError(new CodexError("BAD_REQUEST", "The model call had no JSON body."));
    const { deps, session } = scope;
    let lock: Awaited<ReturnType<RouteDeps["locks"]["tryAcquire"]>>;
    try {
      lock = await deps.locks.tryAcquire(session.handle);
    } catch (error) {
      throw toApiCallError(error); // the store did not answer: STORE_UNAVAILABLE
    }
    if (lock === null && !scope.concurrent) {
      deps.emit({ type: "run_in_progress", route: "ai", code: "RUN_IN_PROGRESS" }, session);
      throw toApiCallError(new CodexError("RUN_IN_PROGRESS", "A run is already in progress for this session."));
    }
    const signals = [lock?.signal, init?.signal ?? undefined].filter((signal): signal is AbortSignal => signal !== undefined);
    const signal = AbortSignal.any(signals);
    let ended = false;
    const end = async (code?: ServerErrorCode): Promise<void> => {
      if (ended) return;
      ended = true;
      // The runner lost its login (revoked, refresh failed), unless the run was stopped by a logout or a lost lease.
      if (code === "NOT_AUTHENTICATED" && lock?.signal.aborted !== true) session.authenticated = false;
      try {
        await deps.sessions.persistContext(session, scope.ctx);
      } catch (error) {
        deps.log.error("could not persist the session after a model call", { error: errorMessage(error) });
      }
      await lock?.release();
      if (code === undefined) deps.emit({ type: "run_finished", route: "ai" }, session);
      else deps.emit({ type: "run_failed", route: "ai", code }, session);
    };
    deps.emit({ type: "run_started", route: "ai" }, session);
    try {
      const upstream = await scope.responses(scope.ctx, body, signal);
      const events = upstream.body as ReadableStream<Uint8Array>;
      if (body.stream !== true) {
        const completed = await collectResponse(events);
        await end();
        return Response.json(completed);
      }
      return new Response(untilEnd(events, end), { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" } });
    } catch (error) {
      const code: ServerErrorCode = error instanceof CodexError ? error.code : "INTERNAL";
      if (!(error instanceof CodexError)) deps.log.error("model call failed", { error: errorMessage(error) });
      await end(code);
      throw toApiCallError(error);
    }
  };
}

/** `body`, read to its end by the SDK, calling `end` once: on the last chunk, an error, or a cancel. */
function untilEnd(body: ReadableStream<Uint8Array>, end: (code?: ServerErrorCode) => Promise<void>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          await end();
          controller.close();
          return;
        }
        controller.enqueue(value);
      } catch (error) {
        await end(error instanceof CodexError ? error.code : "RUN_ABORTED");
        controller.error(error);
      }
    },
    async cancel(reason) {
      await end("RUN_ABORTED");
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}
