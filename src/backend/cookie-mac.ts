import * as nodeCrypto from "node:crypto";
import { sha256Bytes } from "./digest.js";

/** HMAC-SHA256 over one secret: sign, and a constant-time check of a 32-byte MAC. */
export interface CookieMac {
  sign(message: string): Promise<Uint8Array> | Uint8Array;
  verify(mac: Uint8Array<ArrayBuffer>, message: string): Promise<boolean> | boolean;
}

/** Builds one `CookieMac` per secret. */
export type CookieMacFactory = (secret: string) => CookieMac;

/**
 * HMAC-SHA256 with Web Crypto (`crypto.subtle`): runs on any runtime, but each
 * call is an async job on Node's thread pool (tens of µs per request).
 *
 * @example
 * const mac = webCryptoMac("a-long-random-secret");
 * await mac.verify(await mac.sign("name=id"), "name=id"); // true
 */
export const webCryptoMac: CookieMacFactory = (secret) => {
  const encoder = new TextEncoder();
  const key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return {
    sign: async (message) => new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(message))),
    // Web Crypto's verify compares in constant time.
    verify: async (mac, message) => crypto.subtle.verify("HMAC", await key, mac, encoder.encode(message)),
  };
};

/**
 * The same HMAC-SHA256 with `node:crypto`: synchronous, a few µs, compared with
 * `timingSafeEqual`. Interchangeable with {@link webCryptoMac} (same bytes).
 *
 * @example
 * const mac = nodeCryptoMac("a-long-random-secret");
 * mac.verify(mac.sign("name=id"), "name=id"); // true
 */
export const nodeCryptoMac: CookieMacFactory = (secret) => {
  const sign = hmacSha256(Buffer.from(secret, "utf8"));
  return {
    sign,
    verify: (mac, message) => mac.byteLength === 32 && nodeCrypto.timingSafeEqual(sign(message), mac),
  };
};

/**
 * HMAC as RFC 2104 defines it, over SHA-256: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)).
 * Two one-shot hashes (crypto.hash) cost less per request than a createHmac
 * object. Tested equal to createHmac.
 */
function hmacSha256(key: Buffer): (message: string) => Buffer {
  const BLOCK = 64; // SHA-256's block size
  const block = Buffer.alloc(BLOCK);
  (key.length > BLOCK ? sha256Bytes(key) : key).copy(block);
  const inner = Buffer.from(block.map((byte) => byte ^ 0x36));
  const outer = Buffer.alloc(BLOCK + 32, Buffer.from(block.map((byte) => byte ^ 0x5c)));
  block.fill(0);
  return (message) => {
    const digest = sha256Bytes(Buffer.concat([inner, Buffer.from(message, "utf8")]));
    const wrapped = Buffer.from(outer); // per call: concurrent callers never share a buffer
    digest.copy(wrapped, BLOCK);
    return sha256Bytes(wrapped);
  };
}

/** node:crypto when the runtime's module offers createHash and timingSafeEqual (partial polyfills may not), Web Crypto otherwise. */
export const defaultCookieMac: CookieMacFactory =
  typeof nodeCrypto.createHash === "function" && typeof nodeCrypto.timingSafeEqual === "function" ? nodeCryptoMac : webCryptoMac;
