import type { DoneEvent, RunEvent, Usage } from "../../../contract.js";
import { isServerErrorCode } from "../../core/errors.js";
import { asRecord } from "../../core/json.js";
import { redact } from "../../core/redact.js";
import { safeDetails } from "../../http/replies.js";

const encoder = new TextEncoder();

/**
 * One line of the NDJSON run stream. The only way an event reaches the wire,
 * so every line is a contract `RunEvent`.
 *
 * @example
 * encodeRunEvent({ type: "assistant-text", mode: "append", text: "Hel" });
 */
export function encodeRunEvent(event: RunEvent): Uint8Array {
  return encoder.encode(`${JSON.stringify(event)}\n`);
}

/**
 * Rebuilds a runner event from known fields only, so nothing a runner adds by
 * mistake crosses the wire; error messages are redacted. `null` for events
 * that are not part of the contract (they are dropped).
 */
export function toWireEvent(event: unknown, streamedText: boolean): RunEvent | null {
  const e = asRecord(event);
  if (e === undefined) return null;
  switch (e.type) {
    case "assistant-text":
      if (typeof e.text !== "string") return null;
      return { type: "assistant-text", mode: e.mode === "replace" ? "replace" : "append", text: e.text };
    case "done": {
      const source = asRecord(e.result) ?? {};
      const result: DoneEvent["result"] = {};
      // The text already crossed the wire as assistant-text events; the client rebuilds it.
      if (!streamedText && typeof source.text === "string") result.text = source.text;
      const usage = toUsage(source.usage);
      if (usage !== undefined) result.usage = usage;
      if (typeof source.model === "string") result.model = source.model.slice(0, 100);
      return { type: "done", result };
    }
    case "error": {
      const code = isServerErrorCode(e.code) ? e.code : "RUN_FAILED";
      const message = typeof e.error === "string" && e.error !== "" ? e.error : "The run failed.";
      return { type: "error", code, error: redact(message), ...safeDetails(e) };
    }
    default:
      return null;
  }
}

function toUsage(value: unknown): Usage | undefined {
  const u = asRecord(value);
  if (u === undefined || !isCount(u.inputTokens) || !isCount(u.outputTokens)) return undefined;
  const usage: Usage = { inputTokens: u.inputTokens, outputTokens: u.outputTokens };
  if (isCount(u.cachedInputTokens)) usage.cachedInputTokens = u.cachedInputTokens;
  if (isCount(u.reasoningTokens)) usage.reasoningTokens = u.reasoningTokens;
  return usage;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
