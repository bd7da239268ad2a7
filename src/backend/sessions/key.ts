import { sha256 } from "../digest.js";

/**
 * The key a store files a session under: SHA-256 of the session id, base64url
 * (43 characters). Stores never see or keep the id itself, so a dump of the
 * store cannot be replayed as cookies.
 *
 * @example
 * storageKey("0f3c…") // → "q9B7…" (43 chars, URL-safe)
 */
export function storageKey(id: string): string {
  return sha256(id, "base64url");
}

/**
 * The same SHA-256 digest as a 32-character latin1 string (one char per byte).
 * V8 keeps it as a one-byte string of 32 bytes: the memory store uses it to
 * stay small per session. Not printable: never log it.
 *
 * @example
 * compactStorageKey("0f3c…").length // → 32
 */
export function compactStorageKey(id: string): string {
  return sha256(id, "binary"); // "binary" is Node's name for latin1: one char per byte
}
