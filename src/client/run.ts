import type { AssistantTextEvent, DoneEvent, RunEvent, RunRequest, Usage } from "../contract.js";
import { toError } from "./errors.js";
import { readNdjson } from "./ndjson.js";
import type { CodexClientError, RunHandle, RunHandlers } from "./types.js";
import { isUsage, stringOrUndefined, type Unchecked } from "./wire.js";

/** Sends the run request: the client's `fetch` with its URL and credentials. */
export type PostRun = (body: RunRequest, signal: AbortSignal) => Promise<Response>;

/**
 * Posts a prompt and reads the NDJSON answer as it streams. The full text is
 * rebuilt from `assistant-text` events when `done` omits it. Aborting is
 * silent: no `onError`. `onSignedOut` runs on a definitive 401.
 *
 * An exception thrown by one of the app's own handlers is not a run failure:
 * the run stops, `onError` is not called, and `done` rejects with that exception.
 * @example runStream(post, "Hello", { onText: (_text, _mode, full) => show(full) }, signOut).done
 */
export function runStream(post: PostRun, prompt: string | RunRequest, handlers: RunHandlers, onSignedOut: () => void): RunHandle {
  const controller = new AbortController();
  const done = (async () => {
    let text = "";
    let usage: Usage | undefined;
    // Stays set unless a final event arrives: a request that fails, or a stream that just stops, is a network failure.
    let failure: CodexClientError | undefined = toError(undefined, "NETWORK");
    let response: Response | undefined;
    try {
      response = await post(typeof prompt === "string" ? { prompt } : prompt, controller.signal);
    } catch {
      // Not sent, or no answer: stays NETWORK.
    }
    if (response && !response.ok) {
      // Errors before the stream starts are JSON with a code.
      failure = toError(await response.json().catch(() => undefined), "BAD_RESPONSE");
      if (response.status === 401) onSignedOut();
    } else if (response?.body) {
      // No try around the loop: the reader ends quietly on a failed stream, so an
      // exception here can only come from the app's onText, and leaves as itself.
      // A 200 that is not NDJSON (a proxy's HTML page) yields no event and ends as NETWORK.
      for await (const line of readNdjson(response.body)) {
        // Each event is narrowed by its type; unknown events are skipped.
        const type = (line as Unchecked<RunEvent>)?.type;
        if (type === "assistant-text") {
          const event = line as Unchecked<AssistantTextEvent>;
          if (typeof event?.text !== "string") continue;
          // Anything but "replace" appends, so that no text is lost.
          const mode = event.mode === "replace" ? "replace" : "append";
          text = mode === "replace" ? event.text : text + event.text;
          handlers.onText?.(event.text, mode, text);
        } else if (type === "done") {
          const result = (line as Unchecked<DoneEvent>)?.result as Unchecked<DoneEvent["result"]>;
          failure = undefined;
          text = stringOrUndefined(result?.text) ?? text;
          usage = isUsage(result?.usage) ? result.usage : undefined;
          break;
        } else if (type === "error") {
          // An error event carries the fields of an error answer: one reader for both.
          failure = toError(line, "RUN_FAILED");
          break;
        }
      }
    }
    if (controller.signal.aborted) return;
    if (failure) handlers.onError?.(failure);
    else handlers.onDone?.({ text, usage });
  })();
  return { abort: () => controller.abort(), done };
}
