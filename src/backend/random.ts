import { randomFillSync } from "node:crypto";

// CSPRNG bytes are drawn 4 KiB at a time and handed out once each (as crypto.randomUUID does):
// one call into the CSPRNG per 128 ids instead of one per id.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `bytes` fresh random bytes from the CSPRNG, as base64url; never the same bytes twice.
 *
 * @example
 * randomBase64url(32) // 43 characters, 256 bits
 */
export function randomBase64url(bytes: number): string {
  if (bytes > POOL_BYTES) return randomFillSync(Buffer.alloc(bytes)).toString("base64url");
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const text = pool.toString("base64url", offset, offset + bytes);
  pool.fill(0, offset, offset + bytes); // used bytes do not linger in memory
  offset += bytes;
  return text;
}
