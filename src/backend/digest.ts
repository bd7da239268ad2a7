import * as nodeCrypto from "node:crypto";

// crypto.hash (Node ≥ 20.12) is one call with no Hash object: several times cheaper per request than createHash.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: "base64url" | "binary") => string }).hash;

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
