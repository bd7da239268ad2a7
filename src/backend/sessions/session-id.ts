import { createHash, randomBytes } from "node:crypto";

/**
 * A new session id: 256 bits from the CSPRNG, base64url (43 characters).
 *
 * @example
 * newSessionId() // "p3Q…" (43 chars)
 */
export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The stable handle of a session (the runner's `ctx.id`), derived from the
 * session's first id and then kept in its sealed data so that it survives
 * cookie rotation. One-way and domain-separated: it is neither the id nor the
 * store key, so it cannot be turned back into a cookie.
 */
export function handleFromId(id: string): string {
  return sha256Base64url(`codex-auth/session-handle/v1\0${id}`).slice(0, 32);
}

/** A 12-character hash of a handle for audit events and logs: correlates, identifies nothing. */
export function auditTag(handle: string): string {
  return sha256Base64url(`codex-auth/audit-tag/v1\0${handle}`).slice(0, 12);
}

function sha256Base64url(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64url");
}
