/**
 * The Responses SSE stream → run events. Deltas parsed from one network chunk
 * are sent as one append (fewer events, same text); the stream is read only as
 * fast as the consumer pulls, and every wait is bounded by a timeout.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { RunEvent, Usage } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { asNumber, asRecord, asString } from "../../core/json.js";
import { safeMessage } from "./errors.js";
import { parseJson, type Cancel } from "./http.js";
import type { DirectRunnerTimeouts } from "./options.js";

type Final = { type: "done"; usage?: Usage } | CodexError;

/** 64 Mi characters: far above any answer, far below what would exhaust a server. */
const MAX_EVENT_CHARS = 64 * 1024 * 1024;

/** Usage of a `response.completed` event, in the contract's names. */
export function usageOf(response: unknown): Usage | undefined {
  const usage = asRecord(asRecord(response)?.usage);
  if (!usage) return undefined;
  const result: Usage = {
    inputTokens: asNumber(usage.input_tokens) ?? 0,
    outputTokens: asNumber(usage.output_tokens) ?? 0,
  };
  const cached = asNumber(asRecord(usage.input_tokens_details)?.cached_tokens);
  const reasoning = asNumber(asRecord(usage.output_tokens_details)?.reasoning_tokens);
  if (cached !== undefined) result.cachedInputTokens = cached;
  if (reasoning !== undefined) result.reasoningTokens = reasoning;
  return result;
}

/** The error a `response.failed` / `error` event carries. */
export function failureOf(error: unknown): CodexError {
  const e = asRecord(error) ?? {};
  const code = asString(e.code) ?? asString(e.type) ?? "";
  const message = asString(e.message);
  if (code === "usage_limit_reached" || code === "insufficient_quota") {
    return new CodexError("USAGE_LIMIT", "The ChatGPT usage limit for this account has been reached.");
  }
  if (code === "rate_limit_exceeded") return new CodexError("RATE_LIMITED", "The upstream service is rate limiting requests.");
  if (code === "server_error") return new CodexError("UPSTREAM_UNAVAILABLE", "The upstream service failed during the answer.");
  return new CodexError("RUN_FAILED", message ? safeMessage(message) : `The answer failed${code ? ` (${safeMessage(code)})` : ""}.`);
}

/** Events that matter to a run; others (some repeat the whole answer) are skipped unparsed when named. */
const WANTED = new Set([
  "response.output_text.delta",
  "response.completed",
  "response.failed",
  "response.incomplete",
  "error",
]);

/** Interpret one SSE message; returns the text it adds and whether it ends the stream. */
export function interpret(message: EventSourceMessage): { text?: string; final?: Final } {
  const named = message.event;
  if (named !== undefined && named.startsWith("response.") && !WANTED.has(named)) return {};
  const data = asRecord(parseJson(message.data));
  if (!data) return {}; // garbage between events is skipped, as the CLI does
  const type = asString(data.type) ?? message.event;
  switch (type) {
    case "response.output_text.delta": {
      const delta = asString(data.delta);
      return delta ? { text: delta } : {};
    }
    case "response.completed": {
      const usage = usageOf(data.response);
      return { final: usage ? { type: "done", usage } : { type: "done" } };
    }
    case "response.failed":
      return { final: failureOf(asRecord(data.response)?.error) };
    case "response.incomplete": {
      const reason = asString(asRecord(asRecord(data.response)?.incomplete_details)?.reason);
      return { final: new CodexError("RUN_FAILED", `The answer was cut short${reason ? ` (${safeMessage(reason)})` : ""}.`) };
    }
    case "error":
      return { final: failureOf(data.error ?? data) };
    default:
      return {};
  }
}

/**
 * Run events from a streamed answer. Ends with `done` (no repeated text) or
 * throws CodexError (a stream without `response.completed` is RUN_FAILED).
 */
export async function* streamEvents(
  body: ReadableStream<Uint8Array>,
  cancel: Cancel,
  timeouts: Required<DirectRunnerTimeouts>,
): AsyncGenerator<RunEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  // Filled by the parser's callback, so kept in an object the compiler does not narrow.
  const state: { text: string; final?: Final } = { text: "" };
  const parser = createParser({
    // Bounds what a runaway upstream line can make us hold (the last events repeat the whole answer).
    maxBufferSize: MAX_EVENT_CHARS,
    onError(error) {
      if (error.type === "max-buffer-size-exceeded") {
        state.final ??= new CodexError("RUN_FAILED", "The upstream sent an event too large to relay.");
      }
    },
    onEvent(message) {
      if (state.final) return;
      const step = interpret(message);
      if (step.text) state.text += step.text;
      if (step.final) state.final = step.final;
    },
  });
  // The decoder already drops a real BOM; spending the parser's own first-chunk check (Latin-1 "ï»¿") keeps chunking from mattering.
  parser.feed("");
  let first = true;
  try {
    while (!state.final) {
      cancel.arm(first ? timeouts.firstByteMs : timeouts.idleMs, first ? "first byte" : "between events");
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw cancel.failure(error);
      } finally {
        cancel.disarm();
      }
      first = false;
      if (chunk.done) {
        parser.feed(`${decoder.decode()}\n\n`);
        break;
      }
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      if (state.text) {
        const text = state.text;
        state.text = "";
        yield { type: "assistant-text", mode: "append", text };
      }
    }
    // The body's end usually follows `response.completed` at once; reading it keeps the connection reusable.
    if (state.final) await drainEnd(reader);
  } finally {
    // Stop the upstream at once when we are done or the consumer went away.
    reader.cancel().catch(() => undefined);
  }
  if (state.text) yield { type: "assistant-text", mode: "append", text: state.text };
  const final = state.final;
  if (!final) throw new CodexError("RUN_FAILED", "The answer stream ended before it was complete.");
  if (final instanceof CodexError) throw final;
  yield { type: "done", result: final.usage ? { usage: final.usage } : {} };
}

/** Read what remains of a finished stream for a moment (at most a few small reads), without waiting on it. */
async function drainEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (let i = 0; i < 4; i++) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), 5);
    });
    const next = await Promise.race([reader.read().catch(() => ({ done: true as const, value: undefined })), late]);
    clearTimeout(timer);
    if (next === "late" || next.done) return;
  }
}
