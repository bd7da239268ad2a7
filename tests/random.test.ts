import { describe, expect, it } from "vitest";
import { randomBase64url } from "../src/backend/random.js";
import { newSessionId } from "../src/backend/session-id.js";

const B64URL = /^[A-Za-z0-9_-]*$/;

function bytesOf(text: string): Buffer {
  const bytes = Buffer.from(text, "base64url");
  expect(bytes.toString("base64url")).toBe(text); // canonical, unpadded base64url
  return bytes;
}

function zeros(bytes: Buffer): number {
  let n = 0;
  for (const b of bytes) if (b === 0) n++;
  return n;
}

describe("randomBase64url (pooled CSPRNG bytes)", () => {
  it("gives 43-character base64url strings for 32 bytes", () => {
    for (let i = 0; i < 300; i++) {
      const id = randomBase64url(32);
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(bytesOf(id)).toHaveLength(32);
    }
  });

  it("never repeats across 20,000 draws (about 160 pool refills), and the bytes look uniform", () => {
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const id = randomBase64url(32);
      seen.add(id);
      for (const b of bytesOf(id)) counts[b] = (counts[b] as number) + 1;
    }
    expect(seen.size).toBe(20_000);
    // 640,000 bytes: each value expects 2,500 (σ ≈ 50). Zeroed or reused pool bytes would skew this far past the bounds.
    expect(Math.min(...counts)).toBeGreaterThan(2_200);
    expect(Math.max(...counts)).toBeLessThan(2_800);
  });

  it("hands out each byte once: draws that together span several pools share no 8-byte run", () => {
    // Sizes chosen to cross the 4 KiB pool boundary at different offsets.
    const draws = [4000, 100, 4096, 1, 4095, 2, 3000, 1500, 17, 4096, 4096].map((n) => bytesOf(randomBase64url(n)));
    const runs = new Set<string>();
    let total = 0;
    for (const bytes of draws) {
      for (let i = 0; i + 8 <= bytes.length; i += 8) {
        runs.add(bytes.subarray(i, i + 8).toString("hex"));
        total++;
      }
    }
    expect(runs.size).toBe(total);
  });

  it("gives exactly the bytes asked for, of any size, none of them left zeroed", () => {
    for (const size of [1, 2, 3, 5, 31, 32, 33, 100, 1000, 4095, 4096, 4097, 5000, 9000, 20_000]) {
      const text = randomBase64url(size);
      expect(text).toMatch(B64URL);
      expect(text).toHaveLength(Math.ceil((size * 4) / 3));
      const bytes = bytesOf(text);
      expect(bytes).toHaveLength(size);
      if (size >= 32) expect(zeros(bytes)).toBeLessThan(size / 32 + 8); // expected size/256
    }
  });

  it("serves requests larger than the pool (5000 bytes), fresh each time", () => {
    const a = randomBase64url(5000);
    const b = randomBase64url(5000);
    expect(a).toHaveLength(6667);
    expect(a).not.toBe(b);
    // Small draws before and after still work and differ.
    const small = new Set([randomBase64url(32), randomBase64url(32), randomBase64url(32)]);
    expect(small.size).toBe(3);
  });

  it("gives the empty string for 0 bytes", () => {
    expect(randomBase64url(0)).toBe("");
    expect(randomBase64url(32)).toHaveLength(43);
  });
});

describe("newSessionId", () => {
  it("is 43 base64url characters of 256 random bits, canonical, and unique", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/); // the last character carries 2 spare zero bits
      expect(bytesOf(id)).toHaveLength(32);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });
});
