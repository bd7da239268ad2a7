import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSealer } from "../../../src/backend/sessions/seal.js";

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

describe("the opened-value cache", () => {
  /** Changes one base64url character inside the authentication tag (the last 16 bytes), never the final character. */
  function tamperTag(sealed: string): string {
    const at = sealed.length - 6;
    const swapped = sealed[at] === "A" ? "B" : "A";
    return sealed.slice(0, at) + swapped + sealed.slice(at + 1);
  }

  it("gives an equal but separate object on every read: changing one result does not change the next", async () => {
    const sealer = createSealer({ secret: SECRET });
    const data = { tokens, account: { email: "a@example.com" }, list: [1, 2] };
    const sealed = await sealer.seal(data);
    const first = (await sealer.unseal(sealed)) as typeof data;
    const second = (await sealer.unseal(sealed)) as typeof data; // from the cache
    expect(first).toEqual(data);
    expect(second).toEqual(data);
    expect(second).not.toBe(first);
    first.tokens.accessToken = "changed";
    first.account.email = "changed@example.com";
    first.list.push(3);
    (first as Record<string, unknown>).added = true;
    const third = await sealer.unseal(sealed);
    expect(third).toEqual(data);
    expect(second).toEqual(data);
    expect(tokens.accessToken).toBe("eyJhbGciOiJSUzI1NiJ9.seal-test-access.sig"); // the sealed input was never shared either
  });

  it("the async unseal behaves the same way", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealed = await sealer.seal({ tokens });
    const first = (await sealer.unseal(sealed)) as { tokens: { accessToken: string } };
    first.tokens.accessToken = "changed";
    expect(await sealer.unseal(sealed)).toEqual({ tokens });
  });

  it("still refuses a tampered value after the genuine one was opened (and cached)", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealed = await sealer.seal({ tokens });
    expect(await sealer.unseal(sealed)).toEqual({ tokens });
    expect(await sealer.unseal(sealed)).toEqual({ tokens });
    const tampered = tamperTag(sealed);
    expect(tampered).not.toBe(sealed);
    expect(tampered).toHaveLength(sealed.length);
    expect(await sealer.unseal(tampered)).toBeNull();
    expect(await sealer.unseal(tampered)).toBeNull(); // a failure is not cached as a success either
    // Every single flipped byte of the tag, after the genuine value is cached.
    const length = Buffer.from(sealed.slice(3), "base64url").length;
    for (let index = length - 16; index < length; index++) expect(await sealer.unseal(flipByte(sealed, index))).toBeNull();
    // Cut short or extended forms of a cached value are different strings and still fail.
    expect(await sealer.unseal(sealed.slice(0, -4))).toBeNull();
    expect(await sealer.unseal(sealed + "AAAA")).toBeNull();
    expect(await sealer.unseal(sealed)).toEqual({ tokens }); // and the genuine one still opens
  });

  it("is per sealer: a value opened by one sealer does not open under another sealer's keys", async () => {
    const old = createSealer({ secret: OLD_SECRET });
    const sealed = await old.seal({ tokens });
    expect(await old.unseal(sealed)).toEqual({ tokens });
    expect(await createSealer({ secret: SECRET }).unseal(sealed)).toBeNull();
    expect(await createSealer({ secret: SECRET, openedCacheSize: 0 }).unseal(sealed)).toBeNull();
  });

  it("works with openedCacheSize: 0 (no cache)", async () => {
    const sealer = createSealer({ secret: SECRET, openedCacheSize: 0 });
    const sealed = await sealer.seal({ tokens });
    const first = (await sealer.unseal(sealed)) as { tokens: { accessToken: string } };
    expect(first).toEqual({ tokens });
    first.tokens.accessToken = "changed";
    expect(await sealer.unseal(sealed)).toEqual({ tokens });
    expect(await sealer.unseal(tamperTag(sealed))).toBeNull();
    expect(await sealer.unseal("")).toEqual({});
    // Interchangeable with a caching sealer on the same secret.
    expect(await createSealer({ secret: SECRET }).unseal(sealed)).toEqual({ tokens });
    expect(await sealer.unseal(await createSealer({ secret: SECRET }).seal({ tokens }))).toEqual({ tokens });
  });

  it("evicts correctly: with room for 2, every one of many values still opens to its own data", async () => {
    const sealer = createSealer({ secret: SECRET, openedCacheSize: 2 });
    const values = [0, 1, 2].map((i) => ({ n: i, who: `user-${i}@example.com` }));
    const sealed = await Promise.all(values.map((v) => sealer.seal(v)));
    for (let i = 0; i < 3; i++) expect(await sealer.unseal(sealed[i] as string)).toEqual(values[i]);
    expect(await sealer.unseal(sealed[0] as string)).toEqual(values[0]); // evicted, opened again
    // Any order, repeatedly: the cache never answers with another value's data.
    const order = [2, 0, 0, 1, 2, 1, 0, 2, 2, 1, 0, 1];
    for (const i of order) expect(await sealer.unseal(sealed[i] as string)).toEqual(values[i]);
    // Many more values than room.
    const more = Array.from({ length: 40 }, (_, i) => ({ i }));
    const moreSealed = await Promise.all(more.map((v) => sealer.seal(v)));
    for (let round = 0; round < 3; round++) {
      for (const [i, s] of moreSealed.entries()) expect(await sealer.unseal(s)).toEqual(more[i]);
      for (let i = moreSealed.length - 1; i >= 0; i--) expect(await sealer.unseal(moreSealed[i] as string)).toEqual(more[i]);
    }
  });

  it("keeps opening under a rotated key set, from the cache and without it", async () => {
    const before = createSealer({ secret: OLD_SECRET });
    const during = createSealer({ secret: [SECRET, OLD_SECRET] });
    const after = createSealer({ secret: SECRET });
    const old = await before.seal({ tokens, era: "old" });
    const current = await during.seal({ tokens, era: "new" });
    for (let i = 0; i < 3; i++) {
      expect(await during.unseal(old)).toEqual({ tokens, era: "old" });
      expect(await during.unseal(current)).toEqual({ tokens, era: "new" });
      expect(await after.unseal(current)).toEqual({ tokens, era: "new" });
      expect(await after.unseal(old)).toBeNull();
      expect(await before.unseal(current)).toBeNull();
    }
    // Raw keys too, with a cache of one entry.
    const [k1, k2] = [randomBytes(32), randomBytes(32)];
    const rotated = createSealer({ key: [k1, k2], openedCacheSize: 1 });
    const underK2 = await createSealer({ key: k2 }).seal({ n: 2 });
    const underK1 = await rotated.seal({ n: 1 });
    for (let i = 0; i < 3; i++) {
      expect(await rotated.unseal(underK2)).toEqual({ n: 2 });
      expect(await rotated.unseal(underK1)).toEqual({ n: 1 });
    }
  });

  it("does not cache a value that opens but is not session data", async () => {
    const sealer = createSealer({ secret: SECRET });
    const sealedArray = await sealer.seal([1, 2] as unknown as Record<string, unknown>);
    expect(await sealer.unseal(sealedArray)).toBeNull();
    expect(await sealer.unseal(sealedArray)).toBeNull();
  });
});
