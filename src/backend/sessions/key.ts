import { hash } from "node:crypto";

/**
 * The key a store files a session under: SHA-256 of the session id, base64url
 * (43 characters). Stores never see or keep the id itself, so a dump of the
 * store cannot be replayed as cookies.
 *
 * @example
 * storageKey("0f3c…") // → "q9B7…" (43 chars, URL-safe)
 */
export function storageKey(id: string): string {
  return hash("sha256", id, "base64url");
}
