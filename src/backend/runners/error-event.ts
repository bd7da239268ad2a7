import type { ErrorEvent } from "../../contract.js";
import { CodexError } from "../core/errors.js";
import { redact } from "../core/redact.js";

/** The `error` stream event for any failure; unknown throwables become INTERNAL without their message. */
export function toErrorEvent(error: unknown): ErrorEvent {
  if (!(error instanceof CodexError)) {
    return { type: "error", code: "INTERNAL", error: "Internal error." };
  }
  const event: ErrorEvent = { type: "error", code: error.code, error: redact(error.message) };
  const { resetsAt, planType, models, retryAfter } = error.details;
  if (resetsAt !== undefined) event.resetsAt = resetsAt;
  if (planType !== undefined) event.planType = planType;
  if (models !== undefined) event.models = models;
  if (retryAfter !== undefined) event.retryAfter = retryAfter;
  return event;
}
