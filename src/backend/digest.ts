import * as nodeCrypto from "node:crypto";

// crypto.hash (Node ≥ 20.12) is one call with no Hash object: several times cheaper per request than createHash.
interface OneShotHash {
  (algorithm: string, data: string, encoding: "base64url" | "binary"): string;
  (algorithm: string, data: Uint8Array, encoding: "buffer"): Buffer;
}
const oneShot = (nodeCrypto as { hash?: OneShotHash }).hash;

/**
 * SHA-256 of a UTF-8 string, as base64url or as a latin1 string of 32 chars ("binary").
 *
 * @example
 * sha256("abc", "base64url") // "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
 */
export const sha256: (text: string, encoding: "base64url" | "binary") => string =
  typeof oneShot === "function"
    ? (text, encoding) => oneShot("sha256", text, encoding)
    : (text, encoding) => nodeCrypto.createHash("sha256").update(text, "utf8").digest(encoding);

/**
 * SHA-256 of bytes, as bytes.
 *
 * @example
 * sha256Bytes(Buffer.from("abc")).length // 32
 */
export const sha256Bytes: (data: Uint8Array) => Buffer =
  typeof oneShot === "function"
    ? (data) => oneShot("sha256", data, "buffer")
    : (data) => nodeCrypto.createHash("sha256").update(data).digest();
