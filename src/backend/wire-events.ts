import type { RunEvent, ServerErrorCode, Usage } from "../contract.js";
import { CodexError } from "./errors.js";
import { asRecord } from "./json.js";
import { errorFields } from "./replies.js";

const SERVER_CODES: ReadonlySet<string> = new Set<ServerErrorCode>([
  "BAD_JSON", "BAD_REQUEST", "BODY_TOO_LARGE", "BODY_TIMEOUT", "PROMPT_TOO_LONG", "UNSUPPORTED_MEDIA_TYPE", "NOT_FOUND",
  "METHOD_NOT_ALLOWED", "CSRF_REJECTED", "RATE_LIMITED", "RUN_IN_PROGRESS", "NO_SESSION", "SESSION_ROTATED",
  "NOT_AUTHENTICATED", "DEVICE_AUTH_NOT_ENABLED", "LOGIN_EXPIRED", "LOGIN_DENIED", "UPSTREAM_UNAVAILABLE",
  "UPSTREAM_TIMEOUT", "UPSTREAM_BLOCKED", "USAGE_LIMIT", "USAGE_NOT_INCLUDED", "MODEL_NOT_AVAILABLE",
  "RUN_FAILED", "RUN_ABORTED", "INTERNAL",
]);

/** True when `code` is one of the contract's server error codes. */
export function isServerErrorCode(code: unknown): code is ServerErrorCode {
  return typeof code === "string" && SERVER_CODES.has(code);
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
      const result: { text?: string; usage?: Usage; model?: string } = {};
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
      const details = {
        resetsAt: e.resetsAt as number | undefined,
        planType: e.planType as string | undefined,
        models: e.models as string[] | undefined,
        retryAfter: e.retryAfter as number | undefined,
      };
      return { type: "error", ...errorFields(new CodexError(code, message, { details })) };
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
