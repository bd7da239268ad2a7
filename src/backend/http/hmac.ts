import { hash } from "node:crypto";

/** SHA-256's block size in bytes. */
const BLOCK = 64;

/**
 * HMAC-SHA256 (RFC 2104) with its key prepared once: two one-shot `crypto.hash`
 * calls per MAC. Kept instead of `createHmac` for the node "POST /session (new
 * session each)" bench row: a `createHmac` object per cookie cost that row about
 * a twentieth of its CPU (0.30× → 0.35× with the CSRF memo; target ≥ 0.35×).
 * tests/backend/http/hmac.test.ts checks it against `createHmac`.
 *
 * @example
 * const mac = hmacSha256(Buffer.from("secret"));
 * mac("message").toString("base64url");
 */
export function hmacSha256(secret: Buffer): (message: string) => Buffer {
  const key = secret.length > BLOCK ? hash("sha256", secret, "buffer") : secret;
  const inner = Buffer.alloc(BLOCK, 0x36);
  const outer = Buffer.alloc(BLOCK, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i] = (inner[i] as number) ^ (key[i] as number);
    outer[i] = (outer[i] as number) ^ (key[i] as number);
  }
  return (message) => {
    const innerDigest = hash("sha256", Buffer.concat([inner, Buffer.from(message, "utf8")]), "buffer");
    return hash("sha256", Buffer.concat([outer, innerDigest]), "buffer");
  };
}
