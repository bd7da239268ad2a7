import type { ServerErrorCode } from "../../contract.js";
import { errorMessage } from "./error-message.js";
import { redact } from "./redact.js";

/** A minimal structured logger; `console` fits. Every line is redacted before it gets here. */
export interface CodexLogger {
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export type CodexAuditEventType =
  | "session_created"
  | "login_started"
  | "login_succeeded"
  | "login_failed"
  | "session_rotated"
  | "logout"
  | "run_started"
  | "run_finished"
  | "run_failed"
  | "csrf_rejected"
  | "cors_rejected"
  | "rate_limited"
  | "run_in_progress";

/**
 * An audit event for `onEvent`. Carries no token and no session id: `session`
 * is a short hash of the session's stable handle, enough to correlate events.
 */
export interface CodexAuditEvent {
  type: CodexAuditEventType;
  /** Epoch ms, from the handler's clock. */
  at: number;
  /** Route name (e.g. "runStream"), when the event belongs to one. */
  route?: string;
  /** 12-character hash of the session handle; absent when there is no session. */
  session?: string;
  /** The client IP as the handler saw it (peer address, or forwarded when trustProxy). */
  clientIp?: string;
  /** Error code for failures and rejections. */
  code?: ServerErrorCode;
  /** Which limit tripped, for `rate_limited`. */
  limit?: string;
}

/** Wraps a logger so that messages and string fields pass through redact() and a throwing logger cannot break a request. */
export function safeLogger(logger: CodexLogger | undefined): Required<CodexLogger> {
  const wrap =
    (level: keyof CodexLogger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const sink = logger?.[level];
      if (sink === undefined) return;
      try {
        sink.call(logger, redact(message), fields === undefined ? undefined : redactFields(fields));
      } catch {
        // A logger failure must never turn into a failed request.
      }
    };
  return { info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}

function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = typeof value === "string" ? redact(value) : value;
  }
  return out;
}

// Distinct lines the console logger remembers; past this a handler stops printing new kinds.
const MAX_CONSOLE_KINDS = 64;

/**
 * The default logger: the console, each kind of line once per handler (a kind
 * is the message with its `code` field), so a setup problem or a failing
 * upstream is seen without flooding the console on every request. Pass your
 * own `logger` to get every line.
 *
 * @example
 * const log = safeLogger(consoleOncePerKind());
 */
export function consoleOncePerKind(): CodexLogger {
  const seen = new Set<string>();
  const once =
    (print: (...data: unknown[]) => void) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const kind = typeof fields?.code === "string" ? `${message}\u0000${fields.code}` : message;
      if (seen.has(kind) || seen.size >= MAX_CONSOLE_KINDS) return;
      seen.add(kind);
      if (fields === undefined) print(message);
      else print(message, fields);
    };
  // Info lines are routine; only problems reach the console unasked.
  return { warn: once(console.warn), error: once(console.error) };
}

/** Wraps onEvent so that a throwing hook cannot break a request. */
export function safeEmitter(
  onEvent: ((event: CodexAuditEvent) => void) | undefined,
  log: Required<CodexLogger>,
): (event: CodexAuditEvent) => void {
  if (onEvent === undefined) return () => undefined;
  return (event) => {
    try {
      onEvent(event);
    } catch (error) {
      log.warn("onEvent hook threw", { error: errorMessage(error) });
    }
  };
}
