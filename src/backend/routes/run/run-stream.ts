import type { RunEvent, ServerErrorCode } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { errorFields } from "../../http/replies.js";
import type { CodexRunner, RunnerContext, RunOptions } from "../../runners/types.js";
import { encodeRunEvent, toWireEvent } from "./wire-events.js";

export type RunOutcome = "finished" | "failed" | "aborted";

export interface RunStreamOptions {
  runner: CodexRunner;
  ctx: RunnerContext;
  prompt: string;
  runOptions: RunOptions;
  /**
   * The request: its signal aborting (the client going away) aborts the run. The Request itself, not only its
   * signal, is kept for the life of the stream: Node's Request (undici) follows the signal it was made with
   * through a weak reference, so once the Request is collected an abort no longer reaches its signal (seen on
   * Node 20 in a test that aborts mid-run under GC pressure).
   */
  request: Request;
  /** Fires when the session is signed out: the run stops and the stream ends with an error line. */
  stopSignal?: AbortSignal;
  /** How long an event may wait for the reader to take it before the run is given up (a stalled reader). */
  writeTimeoutMs: number;
  /**
   * Called once with how the run ended and the failure code if any: before the last line is queued when the run
   * ends by itself (so its effects are stored before the client can act on its end), on cancel or abort otherwise.
   */
  onEnd: (outcome: RunOutcome, code?: ServerErrorCode) => Promise<void>;
  /** Called with an unexpected (non-CodexError) failure, for the log. */
  onUnexpected: (error: unknown) => void;
}

/**
 * Events a runner has already read (a burst from upstream) are pulled one after another in promise callbacks, and
 * Node holds a chunked response's writes until that chain ends (it corks the socket until the next tick): the
 * first text of a 200-delta burst would leave with the last. So the pull gives the event loop a turn after the
 * first text, and after SLICE_MS of pulling without one, which also lets other requests run during a long burst.
 * Bench row: relay time to first text, 200-delta answer.
 */
const SLICE_MS = 5;
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));

const SIGNED_OUT = encodeRunEvent({ type: "error", code: "NOT_AUTHENTICATED", error: "Signed out while the run was in progress." });
const STALLED = encodeRunEvent({ type: "error", code: "RUN_ABORTED", error: "The run was stopped: the client stopped reading." });

/**
 * The NDJSON body of /run/stream as a pull-based stream: each pull takes one
 * event from the runner, so a client that stops reading stops the runner too
 * (nothing is buffered ahead of the reader). Cancel or a request abort aborts
 * the runner's signal; so do a logout (`stopSignal`) and a reader that takes
 * nothing for `writeTimeoutMs`, so neither holds the run lock or the upstream
 * stream. The stream ends after `done` or `error`, and the runner's iterator
 * is always closed (`return()`), so a runner's `finally` runs.
 *
 * @example
 * return ndjsonReply(createRunStream({ runner, ctx, prompt, runOptions: {}, request, writeTimeoutMs: 30_000, onEnd, onUnexpected }));
 */
export function createRunStream(options: RunStreamOptions): ReadableStream<Uint8Array> {
  const abort = new AbortController();
  const stopped = new Promise<"stopped">((resolve) => abort.signal.addEventListener("abort", () => resolve("stopped"), { once: true }));
  let iterator: AsyncIterator<RunEvent> | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let streamedText = false;
  let ended = false;
  let pulling = false;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the pulls last gave the event loop a turn (-Infinity: give it one at the next pull). */
  let sliceStart = performance.now();

  const closeIterator = () => void iterator?.return?.()?.catch(() => undefined);

  const end = async (outcome: RunOutcome, code?: ServerErrorCode) => {
    if (ended) return;
    ended = true;
    clearTimeout(stallTimer);
    options.request.signal.removeEventListener("abort", onRequestAbort);
    options.stopSignal?.removeEventListener("abort", onStop);
    closeIterator();
    await options.onEnd(outcome, code);
  };

  // The run's last line, then the end of the stream (a cancel meanwhile already closed it).
  const finish = (line: Uint8Array) => {
    safeEnqueue(controller, line);
    safeClose(controller);
  };

  // Abort the runner and end now, even with no pull in progress (a pull in progress sees `stopped` win its race).
  const stopNow = (code: "RUN_ABORTED" | "NOT_AUTHENTICATED", finalLine?: Uint8Array) => {
    abort.abort();
    if (pulling || ended) return;
    if (finalLine !== undefined) safeEnqueue(controller, finalLine);
    safeClose(controller);
    void end("aborted", code).catch(() => undefined);
  };
  const onRequestAbort = () => stopNow("RUN_ABORTED");
  const onStop = () => stopNow("NOT_AUTHENTICATED", SIGNED_OUT);
  if (options.request.signal.aborted) abort.abort();
  else options.request.signal.addEventListener("abort", onRequestAbort, { once: true });
  if (options.stopSignal?.aborted) abort.abort();
  else options.stopSignal?.addEventListener("abort", onStop, { once: true });

  // A reader that takes nothing for writeTimeoutMs (its socket full, never drained) gives the run up.
  const armStallTimer = () => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      abort.abort();
      // One last line waits in the queue for a reader that comes back; a stream error would be logged by adapters.
      safeEnqueue(controller, STALLED);
      safeClose(controller);
      void end("aborted", "RUN_ABORTED").catch(() => undefined);
    }, options.writeTimeoutMs);
  };

  return new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
        armStallTimer();
      },
      async pull() {
        if (ended) return;
        clearTimeout(stallTimer);
        pulling = true;
        try {
          if (performance.now() - sliceStart > SLICE_MS) {
            await nextTurn();
            sliceStart = performance.now();
            if (ended) return;
          }
          iterator ??= options.runner.run(options.ctx, options.prompt, abort.signal, options.runOptions)[Symbol.asyncIterator]();
          for (;;) {
            if (abort.signal.aborted) throw new CodexError("RUN_ABORTED", "The run was aborted.");
            // Raced with the stop: a runner that ignores its signal cannot keep the stream open.
            const next = await Promise.race([iterator.next(), stopped]);
            if (ended) return; // cancelled while we waited
            if (next === "stopped") throw new CodexError("RUN_ABORTED", "The run was aborted.");
            if (next.done === true) {
              const event: RunEvent = { type: "error", code: "RUN_FAILED", error: "The run ended without a result." };
              await end("failed", "RUN_FAILED");
              finish(encodeRunEvent(event));
              return;
            }
            const event = toWireEvent(next.value, streamedText);
            if (event === null) continue; // not a contract event: skip, keep pulling
            if (event.type === "assistant-text" && !streamedText) {
              streamedText = true;
              sliceStart = -Infinity; // the first text goes out now
            }
            if (event.type === "done" || event.type === "error") {
              await end(event.type === "done" ? "finished" : "failed", event.type === "error" ? event.code : undefined);
              finish(encodeRunEvent(event));
              return;
            }
            controller.enqueue(encodeRunEvent(event));
            armStallTimer();
            return; // one event per pull: the reader's pace sets the runner's pace
          }
        } catch (error) {
          if (ended) return;
          if (abort.signal.aborted) {
            const signedOut = options.stopSignal?.aborted === true && !options.request.signal.aborted;
            if (signedOut) safeEnqueue(controller, SIGNED_OUT);
            await end("aborted", signedOut ? "NOT_AUTHENTICATED" : "RUN_ABORTED");
            safeClose(controller);
            return;
          }
          if (!(error instanceof CodexError)) options.onUnexpected(error);
          const failure = error instanceof CodexError ? error : new CodexError("INTERNAL", "The run failed unexpectedly.");
          await end("failed", failure.code);
          finish(encodeRunEvent({ type: "error", ...errorFields(failure) }));
        } finally {
          pulling = false;
        }
      },
      async cancel() {
        abort.abort();
        await end("aborted", "RUN_ABORTED");
      },
    },
    // Zero: never pull ahead of the reader.
    { highWaterMark: 0 },
  );
}

function safeEnqueue(controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array): void {
  try {
    controller.enqueue(chunk);
  } catch {
    // already closed or errored by a cancel
  }
}

function safeClose(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // already closed or errored by a cancel
  }
}
