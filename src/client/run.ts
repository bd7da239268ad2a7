import type { RunRequest } from "../contract.js";
import { toError } from "./errors.js";
import { readNdjson } from "./ndjson.js";
import type { CodexClientError, RunHandle, RunHandlers } from "./types.js";

type Post = (body: RunRequest, signal: AbortSignal) => Promise<Response>;

/**
 * Posts a prompt and reads the NDJSON answer as it streams. The full text is
 * rebuilt from `assistant-text` events when `done` omits it. Aborting is
 * silent: no `onError`. `on401` runs on a definitive 401.
 * @example runStream(post, "Hello", { onText: (_, __, full) => show(full) }, signOut).done
 */
export function runStream(post: Post, prompt: string | RunRequest, h: RunHandlers, on401: () => void): RunHandle {
  const ac = new AbortController();
  const done = (async () => {
    // Holds unless a terminal event arrives: a stream that just stops is a network failure.
    let text = "", e: CodexClientError | 0 = toError(0, "NETWORK");
    try {
      const r = await post(typeof prompt == "string" ? { prompt } : prompt, ac.signal);
      // Errors before the stream starts are JSON with a code. A 200 that is not NDJSON
      // (a proxy's HTML page) yields no valid line and ends as NETWORK.
      if (!r.ok) {
        if (r.status == 401) on401();
        e = toError(await r.json().catch(() => 0), "BAD_RESPONSE");
      } else
        for await (const v of readNdjson(r.body!)) {
          // Events arrive as unknown; each field is checked where it is used.
          const ev = v as Record<string, any> | null;
          const t = ev?.type, rep = ev?.mode == "replace";
          if (t == "assistant-text" && typeof ev!.text == "string") {
            text = rep ? ev!.text : text + ev!.text;
            h.onText?.(ev!.text, rep ? "replace" : "append", text);
          } else if (t == "done") {
            e = 0;
            const d = ev!.result?.text;
            h.onDone?.({ text: typeof d == "string" ? d : text, usage: ev!.result?.usage });
            break;
          } else if (t == "error") {
            e = toError(ev, "RUN_FAILED");
            break;
          }
        }
    } catch {}
    if (e && !ac.signal.aborted) h.onError?.(e);
  })();
  return { abort: () => ac.abort(), done };
}
