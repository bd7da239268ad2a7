/** The JSON lines of `codex exec --json`, narrowed field by field, and its failure messages mapped to codes. */
import type { Usage } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { asRecord } from "../../core/json.js";
import { sanitizeCliText, type SanitizeContext } from "./stderr.js";

export type ExecLine =
  | { kind: "text"; text: string }
  | { kind: "completed"; usage: Usage | undefined }
  /** An `error` line: the CLI may still retry and succeed. */
  | { kind: "error"; message: string }
  /** `turn.failed`: final. */
  | { kind: "failed"; message: string }
  | { kind: "other" };

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;

function usageOf(value: unknown): Usage | undefined {
  const u = asRecord(value);
  const input = count(u?.input_tokens);
  const output = count(u?.output_tokens);
  if (!u || input === undefined || output === undefined) return undefined;
  const usage: Usage = { inputTokens: input, outputTokens: output };
  const cached = count(u.cached_input_tokens);
  const reasoning = count(u.reasoning_output_tokens);
  if (cached !== undefined) usage.cachedInputTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

function messageOf(value: Record<string, unknown>): string {
  const nested = asRecord(value.error);
  const message = value.message ?? nested?.message ?? value.error;
  return typeof message === "string" ? message : "";
}

/** One stdout line; anything that is not a known JSON event is `other` (ignored). */
export function parseExecLine(line: string): ExecLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return { kind: "other" };
  let json: Record<string, unknown> | undefined;
  try {
    json = asRecord(JSON.parse(trimmed));
  } catch {
    return { kind: "other" };
  }
  if (!json) return { kind: "other" };
  switch (json.type) {
    case "item.completed": {
      const item = asRecord(json.item);
      if (item?.type === "agent_message" && typeof item.text === "string") return { kind: "text", text: item.text };
      return { kind: "other" };
    }
    case "turn.completed":
      return { kind: "completed", usage: usageOf(json.usage) };
    case "error":
      return { kind: "error", message: messageOf(json) };
    case "turn.failed":
      return { kind: "failed", message: messageOf(json) };
    default:
      return { kind: "other" };
  }
}

/**
 * A CLI failure message → CodexError with a stable code and a sanitised message.
 * The CLI words these for people ("You've hit your usage limit…", "…sign in again").
 */
export function errorForMessage(message: string, context: SanitizeContext): CodexError {
  const safe = sanitizeCliText(message, context) || "The codex CLI failed.";
  if (/usage limit/i.test(message)) return new CodexError("USAGE_LIMIT", safe);
  if (/upgrade to (plus|pro)|not included in your plan|usage_not_included/i.test(message)) {
    return new CodexError("USAGE_NOT_INCLUDED", safe);
  }
  if (/\b401\b|unauthori[sz]ed|sign(ing)? in again|log ?in again|refresh token/i.test(message)) {
    return new CodexError("NOT_AUTHENTICATED", safe);
  }
  if (/model/i.test(message) && /not (supported|available)/i.test(message)) return new CodexError("MODEL_NOT_AVAILABLE", safe);
  if (/cloudflare|just a moment|cf-mitigated/i.test(message)) return new CodexError("UPSTREAM_BLOCKED", safe);
  return new CodexError("RUN_FAILED", safe);
}
