import { hash, randomFillSync } from "node:crypto";

const ID_BYTES = 32;
// Random bytes drawn 4 KiB at a time, each byte handed out once and then zeroed: a CSPRNG call per id
// cost the "POST /session (new session each)" bench row about a tenth of its throughput. (Node's own
// randomUUID keeps a pool the same way.)
const pool = Buffer.alloc(4096);
let offset = pool.length;

/**
 * A new session id: 256 bits from the CSPRNG, base64url (43 characters).
 *
 * @example
 * newSessionId() // "p3Q…" (43 chars)
 */
export function newSessionId(): string {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + ID_BYTES);
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}

/**
 * The stable handle of a session (the runner's `ctx.id`), derived from the
 * session's first id and then kept in its sealed data so that it survives
 * cookie rotation. One-way and domain-separated: it is neither the id nor the
 * store key, so it cannot be turned back into a cookie.
 */
export function handleFromId(id: string): string {
  return hash("sha256", `codex-auth/session-handle/v1\0${id}`, "base64url").slice(0, 32);
}

/** A 12-character hash of a handle for audit events and logs: correlates, identifies nothing. */
export function auditTag(handle: string): string {
  return hash("sha256", `codex-auth/audit-tag/v1\0${handle}`, "base64url").slice(0, 12);
}
