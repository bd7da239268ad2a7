import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSealer } from "../src/backend/sessions/seal.js";

const SECRET = "seal-test-secret-9f8e7d6c5b4a3210";
const OLD_SECRET = "seal-test-previous-secret-0a1b2c3d";
const tokens = {
  accessToken: "eyJhbGciOiJSUzI1NiJ9.seal-test-access.sig",
  refreshToken: "rt_seal-test-refresh-0123456789",
  expiresAt: 1_767_225_600_000,
};

/** Flips one bit of the byte at `index` of the sealed body (after the version prefix). */
function flipByte(sealed: string, index: number): string {
  const body = Buffer.from(sealed.slice(3), "base64url");
  body[index] = (body[index] as number) ^ 0x01;
  return sealed.slice(0, 3) + body.toString("base64url");
}

describe("sealing session data at rest", () => {
  it("opens what it sealed", async () => {
    const sealer = createSealer({ secret: SECRET });
    const data = { tokens, account: { email: "a@example.com" }, nested: [1, "two", { three: true }] };
    expect(await sealer.unseal(await sealer.seal(data))).toEqual(data);
  });

  it("seals empty data to nothing and opens nothing as empty data", async () => {
    const sealer = createSealer({ secret: SECRET });
    expect(await sealer.seal({})).toBe("");
    expect(await sealer.unseal("")).toEqual({});
  });

  it("never shows the plaintext, or any part of a token, in its output", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealed = await sealer.seal({ tokens });
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    for (const fragment of ["seal-test", "accessToken", "refresh", "eyJhbGci", String(tokens.expiresAt)]) {
      expect(sealed).not.toContain(fragment);
    }
    // Nor in the base64 of the plaintext: the body is ciphertext, not an encoding of it.
    expect(Buffer.from(sealed.slice(3), "base64url").toString("latin1")).not.toContain("seal-test");
  });

  it("seals the same data differently every time (a fresh IV per seal)", async () => {
    const sealer = createSealer({ secret: SECRET });
    const seals = new Set(await Promise.all(Array.from({ length: 50 }, () => sealer.seal({ tokens }))));
    expect(seals.size).toBe(50);
  });

  it("rejects a sealed value with any single byte flipped: IV, ciphertext or tag", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealed = await sealer.seal({ tokens });
    const length = Buffer.from(sealed.slice(3), "base64url").length;
    for (const index of [0, 11, 12, Math.floor(length / 2), length - 17, length - 16, length - 1]) {
      expect(await sealer.unseal(flipByte(sealed, index))).toBeNull();
    }
  });

  it("rejects a sealed value that was cut short or extended", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealed = await sealer.seal({ tokens });
    expect(await sealer.unseal(sealed.slice(0, -4))).toBeNull();
    expect(await sealer.unseal(sealed + "AAAA")).toBeNull();
  });

  it("does not open what another secret sealed", async () => {
    const sealed = await createSealer({ secret: OLD_SECRET }).seal({ tokens });
    expect(await createSealer({ secret: SECRET }).unseal(sealed)).toBeNull();
  });

  it("returns null for garbage, never throws", async () => {
    const sealer = createSealer({ secret: SECRET });
    const garbage = [
      "x",
      "v1.",
      "v1.!!!!",
      "v1.%00%ff",
      "v2." + randomBytes(64).toString("base64url"),
      "v1." + randomBytes(64).toString("base64url"),
      "v1." + randomBytes(8).toString("base64url"),
      "v1.\u0000\ud800",
      "{}",
      " ".repeat(10_000),
    ];
    for (const value of garbage) expect(await sealer.unseal(value)).toBeNull();
    expect(await sealer.unseal(undefined as unknown as string)).toBeNull();
  });

  it("rotates secrets: the first seals, every listed one still opens", async () => {
    const before = createSealer({ secret: OLD_SECRET });
    const during = createSealer({ secret: [SECRET, OLD_SECRET] });
    const after = createSealer({ secret: SECRET });
    const sealedBefore = await before.seal({ tokens });
    expect(await during.unseal(sealedBefore)).toEqual({ tokens });
    const sealedDuring = await during.seal({ tokens });
    expect(await after.unseal(sealedDuring)).toEqual({ tokens }); // sealed with the new secret
    expect(await before.unseal(sealedDuring)).toBeNull();
  });

  it("accepts raw 32-byte keys, with rotation too", async () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32)];
    const sealed = await createSealer({ key: k2 }).seal({ tokens });
    expect(await createSealer({ key: [k1, k2] }).unseal(sealed)).toEqual({ tokens });
    expect(await createSealer({ key: k1 }).unseal(sealed)).toBeNull();
  });

  it("refuses weak configuration at construction", () => {
    expect(() => createSealer({ secret: "short" })).toThrow(/at least 16/);
    expect(() => createSealer({ secret: [] })).toThrow(/at least one/);
    expect(() => createSealer({ key: randomBytes(16) })).toThrow(/32 bytes/);
  });

  it("derives keys per purpose: a sealed value does not open under the raw secret bytes as a key", async () => {
    const secret = "0123456789abcdef0123456789abcdef"; // exactly 32 bytes
    const sealed = await createSealer({ secret }).seal({ tokens });
    expect(await createSealer({ key: Buffer.from(secret, "utf8") }).unseal(sealed)).toBeNull();
  });

  it("rejects sealed JSON that is not an object", async () => {
    // A valid seal whose plaintext is an array must not pass as session data.
    const sealer = createSealer({ secret: SECRET });
    const sealedArray = await sealer.seal([1, 2] as unknown as Record<string, unknown>);
    expect(await sealer.unseal(sealedArray)).toBeNull();
  });
});
