import * as nodeCrypto from "node:crypto";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defaultCookieMac, nodeCryptoMac, webCryptoMac } from "../src/backend/cookie-mac.js";
import { createCookieSigner } from "../src/backend/cookies.js";
import { newSessionId } from "../src/backend/session-id.js";

const NEW = "cookie-mac-new-Secret-8Jr3Wq6Zp1";
const OLD = "cookie-mac-old-Secret-2Kd9Tv4Xm7";
const NAME = "__Host-codex_sid";

describe("cookie HMAC engines", () => {
  it("uses node:crypto by default on Node", () => {
    expect(defaultCookieMac).toBe(nodeCryptoMac);
  });

  it("node:crypto and Web Crypto sign the same value, and each verifies the other's", async () => {
    const viaNode = createCookieSigner([NEW], NAME, nodeCryptoMac);
    const viaWeb = createCookieSigner([NEW], NAME, webCryptoMac);
    for (let i = 0; i < 5; i++) {
      const id = newSessionId();
      const value = await viaNode.sign(id);
      expect(await viaWeb.sign(id)).toBe(value);
      expect(await createCookieSigner([NEW], NAME, webCryptoMac).verify(`${NAME}=${value}`)).toBe(id);
      expect(await createCookieSigner([NEW], NAME, nodeCryptoMac).verify(`${NAME}=${value}`)).toBe(id);
    }
  });

  describe.each([
    ["node:crypto", nodeCryptoMac],
    ["Web Crypto", webCryptoMac],
  ])("with %s", (_name, engine) => {
    it("verifies a value signed under an older secret still in the list (rotation), and signs with the first", async () => {
      const id = newSessionId();
      const old = await createCookieSigner([OLD], NAME, engine).sign(id);
      const rotated = createCookieSigner([NEW, OLD], NAME, engine);
      expect(await rotated.verify(`${NAME}=${old}`)).toBe(id);
      expect(await rotated.sign(id)).toBe(await createCookieSigner([NEW], NAME, engine).sign(id));
      expect(await createCookieSigner([NEW], NAME, engine).verify(`${NAME}=${old}`)).toBeNull();
    });

    it("rejects a tampered MAC, a tampered id, a non-canonical spelling and a value moved to another cookie name", async () => {
      const id = newSessionId();
      const value = await createCookieSigner([NEW], NAME, engine).sign(id);
      const [idPart, macPart] = value.split(".") as [string, string];
      const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
      const fresh = () => createCookieSigner([NEW], NAME, engine); // no verified-value cache carried over
      expect(await fresh().verify(`${NAME}=${idPart}.${flip(macPart, 5)}`)).toBeNull();
      expect(await fresh().verify(`${NAME}=${flip(idPart, 5)}.${macPart}`)).toBeNull();
      // The last character of 43 base64url chars carries 2 spare bits: another spelling of the same bytes.
      const last = macPart[42] as string;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
      expect(await fresh().verify(`${NAME}=${idPart}.${macPart.slice(0, 42)}${twin}`)).toBeNull();
      const moved = await createCookieSigner([NEW], "other", engine).sign(id);
      expect(await fresh().verify(`${NAME}=${moved}`)).toBeNull();
      expect(await fresh().verify(`${NAME}=${value}`)).toBe(id);
    });
  });
});

describe("nodeCryptoMac is exactly HMAC-SHA256", () => {
  const hmac = (secret: string, message: string) => createHmac("sha256", secret).update(message).digest();
  const ascii = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join("");
  // Key lengths around SHA-256's 64-byte block: shorter keys are padded, longer ones hashed first.
  const secrets: Array<[string, string]> = [
    ["16 ASCII bytes", ascii(16)],
    ["63 ASCII bytes", ascii(63)],
    ["64 ASCII bytes", ascii(64)],
    ["65 ASCII bytes", ascii(65)],
    ["200 ASCII bytes", ascii(200)],
    ["63 UTF-8 bytes with é", `${"é".repeat(30)}abc`],
    ["64 UTF-8 bytes with €", `${"€".repeat(21)}x`],
    ["65 UTF-8 bytes with é", `${"é".repeat(32)}z`],
    ["16 characters of emoji and CJK (50 bytes)", "🔑秘密🔑秘密🔑秘密鍵鍵"],
    ["200 characters of mixed scripts", "ключ-鍵-🔐-clé-".repeat(20).slice(0, 200)],
  ];
  const messages: Array<[string, string]> = [
    ["empty", ""],
    ["ASCII", "__Host-codex_sid=p3Q9xZ-_abcdefghijklmnopqrstuvwxyz0123456"],
    ["multi-byte UTF-8", "naïve café — 日本語 — 🎉🎉"],
    ["a lone surrogate", "x\ud800y"],
    ["long (1000 bytes)", "m".repeat(1000)],
    ["exactly one block", "b".repeat(64)],
  ];

  it("uses key lengths that straddle the block size as labelled (and runs where crypto.hash exists)", () => {
    // On Node ≥ 20.12 nodeCryptoMac computes HMAC over one-shot crypto.hash: these tests check that construction.
    expect(typeof (nodeCrypto as { hash?: unknown }).hash).toBe("function");
    expect(secrets.map(([, s]) => Buffer.byteLength(s, "utf8")).slice(0, 8)).toEqual([16, 63, 64, 65, 200, 63, 64, 65]);
  });

  it.each(secrets)("signs like createHmac with a secret of %s, for every message", (_label, secret) => {
    const mac = nodeCryptoMac(secret);
    for (const [name, message] of messages) {
      const expected = hmac(secret, message);
      const signed = mac.sign(message) as Uint8Array;
      expect(Buffer.from(signed).equals(expected), name).toBe(true);
      expect(signed.byteLength).toBe(32);
      expect(mac.verify(new Uint8Array(expected), message), name).toBe(true);
    }
  });

  it.each(secrets)("agrees with Web Crypto for a secret of %s", async (_label, secret) => {
    const web = webCryptoMac(secret);
    const node = nodeCryptoMac(secret);
    for (const [, message] of messages) {
      expect(Buffer.from(node.sign(message) as Uint8Array).equals(Buffer.from(await web.sign(message)))).toBe(true);
    }
  });

  it("rejects a MAC with any one bit flipped, of the wrong length, or for another message", () => {
    const secret = ascii(65);
    const mac = nodeCryptoMac(secret);
    const message = "__Host-codex_sid=some-session-id";
    const good = new Uint8Array(hmac(secret, message));
    expect(mac.verify(good, message)).toBe(true);
    for (let bit = 0; bit < 256; bit++) {
      const bad = new Uint8Array(good);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(mac.verify(bad, message), `bit ${bit}`).toBe(false);
    }
    expect(mac.verify(good.slice(0, 31), message)).toBe(false);
    expect(mac.verify(new Uint8Array([...good, 0]), message)).toBe(false);
    expect(mac.verify(new Uint8Array(32), message)).toBe(false);
    expect(mac.verify(good, `${message}x`)).toBe(false);
    expect(nodeCryptoMac(ascii(64)).verify(good, message)).toBe(false); // another secret
  });

  it("returns a fresh buffer per call: changing one result never changes a later one", () => {
    const secret = ascii(16);
    const mac = nodeCryptoMac(secret);
    const first = mac.sign("a") as Uint8Array;
    first.fill(0);
    const interleaved = ["a", "b", "", "a"].map((m) => mac.sign(m) as Uint8Array);
    expect(Buffer.from(interleaved[0] as Uint8Array).equals(hmac(secret, "a"))).toBe(true);
    expect(Buffer.from(interleaved[1] as Uint8Array).equals(hmac(secret, "b"))).toBe(true);
    expect(Buffer.from(interleaved[2] as Uint8Array).equals(hmac(secret, ""))).toBe(true);
    expect(Buffer.from(interleaved[3] as Uint8Array).equals(hmac(secret, "a"))).toBe(true);
    expect(interleaved[0]).not.toBe(interleaved[3]);
  });
});
