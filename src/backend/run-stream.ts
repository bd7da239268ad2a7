import type { RunEvent } from "../contract.js";
import { CodexError } from "./errors.js";
import { errorFields } from "./replies.js";
import type { CodexRunner, RunnerContext, RunOptions } from "./runner.js";
import { toWireEvent } from "./wire-events.js";

export type RunOutcome = "finished" | "failed" | "aborted";

export interface RunStreamOptions {
  runner: CodexRunner;
  ctx: RunnerContext;
  prompt: string;
  runOptions: RunOptions;
  /** The request's signal: the client going away aborts the run. */
  requestSignal: AbortSignal;
  /** Called once, after the last line (or on cancel), with how the run ended and the failure code if any. */
  onEnd: (outcome: RunOutcome, code?: string) => Promise<void>;
  /** Called with an unexpected (non-CodexError) failure, for the log. */
  onUnexpected: (error: unknown) => void;
}

const encoder = new TextEncoder();

/**
 * The NDJSON body of /run/stream as a pull-based stream: each pull takes one
 * event from the runner, so a client that stops reading stops the runner too
 * (nothing is buffered ahead of the reader). Cancel or a request abort aborts
 * the runner's signal. The stream ends after `done` or `error`.
 *
 * @example
 * return ndjsonReply(createRunStream({ runner, ctx, prompt, runOptions: {}, requestSignal: request.signal, onEnd, onUnexpected }));
 */
export function createRunStream(options: RunStreamOptions): ReadableStream<Uint8Array> {
  const abort = new AbortController();
  let iterator: AsyncIterator<RunEvent> | undefined;
  let streamedText = false;
  let ended = false;
  let pulling = false;

  // A client gone before (or between) reads: abort the runner and release the run lock even if no pull comes.
  const onRequestAbort = () => {
    abort.abort();
    if (pulling) return;
    void iterator?.return?.()?.catch(() => undefined);
    void end("aborted", "RUN_ABORTED").catch(() => undefined);
  };
  if (options.requestSignal.aborted) abort.abort();
  else options.requestSignal.addEventListener("abort", onRequestAbort, { once: true });

  const end = async (outcome: RunOutcome, code?: string) => {
    if (ended) return;
    ended = true;
    options.requestSignal.removeEventListener("abort", onRequestAbort);
    await options.onEnd(outcome, code);
  };

  const line = (event: RunEvent) => encoder.encode(`${JSON.stringify(event)}\n`);

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (ended) return;
        pulling = true;
        try {
          iterator ??= options.runner.run(options.ctx, options.prompt, abort.signal, options.runOptions)[Symbol.asyncIterator]();
          for (;;) {
            if (abort.signal.aborted) throw new CodexError("RUN_ABORTED", "The run was aborted.");
            const next = await iterator.next();
            if (ended) return; // cancelled while we waited
            if (next.done === true) {
              const event: RunEvent = { type: "error", code: "RUN_FAILED", error: "The run ended without a result." };
              controller.enqueue(line(event));
              await end("failed", "RUN_FAILED");
              controller.close();
              return;
            }
            const event = toWireEvent(next.value, streamedText);
            if (event === null) continue; // not a contract event: skip, keep pulling
            if (event.type === "assistant-text") streamedText = true;
            controller.enqueue(line(event));
            if (event.type === "done" || event.type === "error") {
              await end(event.type === "done" ? "finished" : "failed", event.type === "error" ? event.code : undefined);
              controller.close();
            }
            return; // one event per pull: the reader's pace sets the runner's pace
          }
        } catch (error) {
          if (ended) return;
          if (abort.signal.aborted) {
            await end("aborted", "RUN_ABORTED");
            safeClose(controller);
            return;
          }
          if (!(error instanceof CodexError)) options.onUnexpected(error);
          const failure = error instanceof CodexError ? error : new CodexError("INTERNAL", "The run failed unexpectedly.");
          controller.enqueue(line({ type: "error", ...errorFields(failure) }));
          await end("failed", failure.code);
          controller.close();
        } finally {
          pulling = false;
        }
      },
      async cancel() {
        abort.abort();
        void iterator?.return?.()?.catch(() => undefined);
        await end("aborted", "RUN_ABORTED");
      },
    },
    // Zero: never pull ahead of the reader.
    { highWaterMark: 0 },
  );
}

function safeClose(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // already closed or errored by a cancel
  }
}
