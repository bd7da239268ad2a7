/** Upstream answers and failures → CodexError with a stable code; every message redacted. */
import { CodexError } from "../../core/errors.js";
import { asNumber, asRecord, asString } from "../../core/json.js";
import { redact } from "../../core/redact.js";
import type { UpstreamReply } from "./http.js";

/** Upstream messages are shown to people; keep them short. */
const MAX_MESSAGE = 300;

/** A short, redacted version of an upstream message, safe for the browser. */
export function safeMessage(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  const short = oneLine.length > MAX_MESSAGE ? `${oneLine.slice(0, MAX_MESSAGE)}…` : oneLine;
  return redact(short);
}

/** The human message an upstream JSON error carries, if any. */
export function upstreamMessage(json: unknown): string | undefined {
  const body = asRecord(json);
  if (!body) return undefined;
  const error = body.error;
  const nested = asRecord(error);
  return (
    asString(nested?.message) ??
    asString(body.error_description) ??
    asString(body.detail) ??
    asString(body.message) ??
    asString(error)
  );
}

/** The machine code of an upstream JSON error (`error.code`, `error.type` or a string `error`). */
export function upstreamErrorCode(json: unknown): string | undefined {
  const body = asRecord(json);
  if (!body) return undefined;
  const nested = asRecord(body.error);
  return asString(nested?.code) ?? asString(nested?.type) ?? asString(body.error) ?? asString(body.code);
}

/** A Cloudflare challenge page ("Just a moment…"): blocked upstream, not a logout. */
export function isChallenge(reply: Pick<UpstreamReply, "status" | "headers">): boolean {
  return reply.status === 403 && (reply.headers.get("cf-mitigated") ?? "").toLowerCase() === "challenge";
}

function usageLimit(reply: UpstreamReply, now: number): CodexError {
  const error = asRecord(asRecord(reply.json)?.error) ?? {};
  const resetsAtSeconds = asNumber(error.resets_at) ?? asNumber(reply.headers.get("x-codex-primary-reset-at"));
  const resetsIn = asNumber(error.resets_in_seconds);
  const resetsAt =
    resetsAtSeconds !== undefined ? resetsAtSeconds * 1000 : resetsIn !== undefined ? now + resetsIn * 1000 : undefined;
  const planType = asString(error.plan_type) ?? reply.headers.get("x-codex-plan-type") ?? undefined;
  const details: { resetsAt?: number; planType?: string } = {};
  if (resetsAt !== undefined) details.resetsAt = resetsAt;
  if (planType !== undefined) details.planType = planType;
  return new CodexError("USAGE_LIMIT", "The ChatGPT usage limit for this account has been reached.", { details });
}

/** A 400 naming a model the account's plan may not use. */
export function isModelNotSupported(reply: UpstreamReply): boolean {
  if (reply.status !== 400) return false;
  const message = upstreamMessage(reply.json) ?? "";
  return /model/i.test(message) && /not (supported|available)/i.test(message);
}

/**
 * Map a non-2xx answer of the Codex backend (or the issuer) to a CodexError.
 * 401 is NOT_AUTHENTICATED here; callers refresh and retry once before using it.
 */
export function mapUpstreamReply(reply: UpstreamReply, now: number, models?: string[]): CodexError {
  const code = upstreamErrorCode(reply.json);
  if (code === "usage_limit_reached") return usageLimit(reply, now);
  if (code === "usage_not_included") {
    const planType = asString(asRecord(asRecord(reply.json)?.error)?.plan_type);
    return new CodexError("USAGE_NOT_INCLUDED", "This ChatGPT plan does not include Codex.", {
      details: planType ? { planType } : {},
    });
  }
  if (isChallenge(reply)) {
    return new CodexError("UPSTREAM_BLOCKED", "The upstream service asked for a browser challenge; try again later.");
  }
  if (isModelNotSupported(reply)) {
    return new CodexError("MODEL_NOT_AVAILABLE", safeMessage(upstreamMessage(reply.json) ?? "Model not available."), {
      details: models ? { models } : {},
    });
  }
  if (reply.status === 401) return new CodexError("NOT_AUTHENTICATED", "Please sign in again.");
  if (reply.status === 429) {
    const retryAfter = asNumber(reply.headers.get("retry-after"));
    return new CodexError("RATE_LIMITED", "The upstream service is rate limiting requests; try again shortly.", {
      details: retryAfter !== undefined ? { retryAfter } : {},
    });
  }
  if (reply.status >= 500) {
    return new CodexError("UPSTREAM_UNAVAILABLE", `The upstream service failed (status ${reply.status}).`);
  }
  const message = upstreamMessage(reply.json);
  return new CodexError(
    "RUN_FAILED",
    message ? safeMessage(message) : `The upstream service refused the request (status ${reply.status}).`,
  );
}

