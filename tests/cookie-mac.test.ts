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
