import { describe, expect, it } from "vitest";
import { newSessionId } from "../../../src/backend/sessions/session-id.js";

function bytesOf(text: string): Buffer {
  const bytes = Buffer.from(text, "base64url");
  expect(bytes.toString("base64url")).toBe(text); // canonical, unpadded base64url
  return bytes;
}

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

  it("never repeats across 20,000 ids, and their bytes look uniform", () => {
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const id = newSessionId();
      seen.add(id);
      for (const b of bytesOf(id)) counts[b] = (counts[b] as number) + 1;
    }
    expect(seen.size).toBe(20_000);
    // 640,000 bytes: each value expects 2,500 (σ ≈ 50). Zeroed or reused bytes would skew this far past the bounds.
    expect(Math.min(...counts)).toBeGreaterThan(2_200);
    expect(Math.max(...counts)).toBeLessThan(2_800);
  });
});
