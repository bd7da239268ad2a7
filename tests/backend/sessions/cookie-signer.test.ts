import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCookieSigner } from "../../../src/backend/http/cookies.js";
import { newSessionId } from "../../../src/backend/sessions/session-id.js";

const NEW = "cookie-mac-new-Secret-8Jr3Wq6Zp1";
const OLD = "cookie-mac-old-Secret-2Kd9Tv4Xm7";
const NAME = "__Host-codex_sid";

describe("signed session cookies", () => {
  it("signs `id.` + base64url HMAC-SHA256 of `name=id`, so a value signed by any HMAC-SHA256 of the same secret verifies", () => {
    const signer = createCookieSigner([NEW], NAME);
    for (let i = 0; i < 5; i++) {
      const id = newSessionId();
      const value = signer.sign(id);
      expect(value).toBe(`${id}.${createHmac("sha256", NEW).update(`${NAME}=${id}`).digest("base64url")}`);
      expect(createCookieSigner([NEW], NAME).verify(`${NAME}=${value}`)).toBe(id);
    }
  });

  it("verifies a value signed under an older secret still in the list (rotation), and signs with the first", () => {
    const id = newSessionId();
    const old = createCookieSigner([OLD], NAME).sign(id);
    const rotated = createCookieSigner([NEW, OLD], NAME);
    expect(rotated.verify(`${NAME}=${old}`)).toBe(id);
    expect(rotated.sign(id)).toBe(createCookieSigner([NEW], NAME).sign(id));
    expect(createCookieSigner([NEW], NAME).verify(`${NAME}=${old}`)).toBeNull();
  });

  it("rejects a tampered MAC, a tampered id, a non-canonical spelling and a value moved to another cookie name", () => {
    const id = newSessionId();
    const value = createCookieSigner([NEW], NAME).sign(id);
    const [idPart, macPart] = value.split(".") as [string, string];
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
    const fresh = () => createCookieSigner([NEW], NAME); // no verified-value cache carried over
    expect(fresh().verify(`${NAME}=${idPart}.${flip(macPart, 5)}`)).toBeNull();
    expect(fresh().verify(`${NAME}=${flip(idPart, 5)}.${macPart}`)).toBeNull();
    // The last character of 43 base64url chars carries 2 spare bits: another spelling of the same bytes.
    const last = macPart[42] as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) ^ 1] as string;
    expect(fresh().verify(`${NAME}=${idPart}.${macPart.slice(0, 42)}${twin}`)).toBeNull();
    const moved = createCookieSigner([NEW], "other").sign(id);
    expect(fresh().verify(`${NAME}=${moved}`)).toBeNull();
    expect(fresh().verify(`${NAME}=${value}`)).toBe(id);
  });

  it("rejects a MAC with any one bit flipped, or one made for another id or under another secret", () => {
    const id = newSessionId();
    const good = Buffer.from(createCookieSigner([NEW], NAME).sign(id).split(".")[1] as string, "base64url");
    for (let bit = 0; bit < 256; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(createCookieSigner([NEW], NAME).verify(`${NAME}=${id}.${bad.toString("base64url")}`), `bit ${bit}`).toBeNull();
    }
    expect(createCookieSigner([NEW], NAME).verify(`${NAME}=${newSessionId()}.${good.toString("base64url")}`)).toBeNull();
    expect(createCookieSigner([OLD], NAME).verify(`${NAME}=${id}.${good.toString("base64url")}`)).toBeNull();
  });
});
