import type { Account, ErrorBody, RouteName, RouteResponses, ServerErrorCode, StatusRotated } from "../../contract.js";
import type { CodexAuditEvent, CodexLogger } from "../core/audit.js";
import { asRecord } from "../core/json.js";
import type { RateLimits, LimitName } from "../http/limits.js";
import type { RunLocks } from "./run/run-locks.js";
import type { ResolvedOptions } from "../core/options.js";
import { defaultStatus } from "../core/errors.js";
import { errorReply, jsonReply, type TypedReply } from "../http/replies.js";
import { auditTag } from "../sessions/session-id.js";
import type { ActiveSession, SessionManager } from "../sessions/session-manager.js";

/** What every route gets from the handler, built once per handler. */
export interface RouteDeps {
  opts: ResolvedOptions;
  sessions: SessionManager;
  limits: RateLimits;
  locks: RunLocks;
  log: Required<CodexLogger>;
  /** Audit event; `session` becomes the event's hashed tag, computed only when an onEvent hook listens. */
  emit: (event: Omit<CodexAuditEvent, "at" | "session">, session?: ActiveSession) => void;
}

/** What route `Name` may answer, as its contract type says: a body outside it does not compile. */
export type RouteReply<Name extends RouteName> = TypedReply<RouteResponses[Name]>;

/** One request as a route sees it. */
export interface RouteCall {
  request: Request;
  /** Undefined when the adapter passed no peer address and no trusted proxy header is present. */
  clientIp: string | undefined;
  /** The adapter's server ended the body at its declared Content-Length (see FRAMED_BODY in http/body.ts). */
  framedBody?: boolean;
}

/** 409 SESSION_ROTATED: the cookie's id was just rotated by a racing request; not a logout, retry with the new cookie. */
export function rotatedReply(): TypedReply<StatusRotated> {
  const error = "This session was just renewed; retry the request.";
  return jsonReply(defaultStatus("SESSION_ROTATED"), { ok: false, status: "rotated", code: "SESSION_ROTATED", error });
}

/** 401 NO_SESSION for routes that need a session. */
export function noSessionReply(): TypedReply<ErrorBody> {
  return jsonReply(defaultStatus("NO_SESSION"), { ok: false, code: "NO_SESSION", error: "No session; call POST /session first." });
}

export const RATE_LIMITED_MESSAGE = "Too many requests; try again later.";

/** Applies rate limits; a 429 response when one is exhausted, null when allowed. */
export async function rateLimited(
  deps: RouteDeps,
  route: string,
  checks: ReadonlyArray<readonly [LimitName, string | undefined]>,
  session?: ActiveSession,
): Promise<TypedReply<ErrorBody> | null> {
  const refusal = await limitRefusal(deps, route, checks, session);
  return refusal === null ? null : errorReply("RATE_LIMITED", RATE_LIMITED_MESSAGE, { details: refusal });
}

/** Applies rate limits; when one is exhausted, its audit event is emitted and the wait is returned; null when allowed. */
export async function limitRefusal(
  deps: RouteDeps,
  route: string,
  checks: ReadonlyArray<readonly [LimitName, string | undefined]>,
  session?: ActiveSession,
): Promise<{ retryAfter: number } | null> {
  const verdict = await deps.limits.consume(checks);
  if (verdict.ok) return null;
  deps.emit({ type: "rate_limited", route, limit: verdict.limit, code: "RATE_LIMITED" }, session);
  return { retryAfter: verdict.retryAfterSec };
}

/** The audit `session` field for a session, if any. */
export function tagOf(session: ActiveSession | undefined): { session?: string } {
  return session === undefined ? {} : { session: auditTag(session.handle) };
}

/** Only the account fields the browser may see, as bounded strings. */
export function publicAccount(account: unknown): Account {
  const source = asRecord(account) ?? {};
  const out: Account = { email: boundedString(source.email) ?? null };
  const name = boundedString(source.name);
  if (name !== undefined) out.name = name;
  const planType = boundedString(source.planType);
  if (planType !== undefined) out.planType = planType;
  return out;
}

function boundedString(value: unknown): string | undefined {
  return typeof value === "string" ? value.slice(0, 320) : undefined;
}

export { jsonReply, errorReply };
export type { ServerErrorCode };
