import { describe, expect, it } from "vitest";
import { MARKER_KEY, readMarker, writeMarker } from "../../src/client/marker.js";
import type { MarkerStorage } from "../../src/client/types.js";

const DAY = 24 * 60 * 60 * 1000;
const memory = (init: Record<string, string> = {}) => {
  const m = new Map(Object.entries(init));
  return {
    map: m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
};
const throwing: MarkerStorage = {
  getItem: () => {
    throw new DOMException("denied", "SecurityError");
  },
  setItem: () => {
    throw new DOMException("full", "QuotaExceededError");
  },
  removeItem: () => {
    throw new DOMException("denied", "SecurityError");
  },
};

describe("the signed-in marker", () => {
  it("holds only loggedIn and savedAt by default: no email, no token", () => {
    const st = memory();
    writeMarker(st, 1_000, null);
    expect(JSON.parse(st.map.get(MARKER_KEY)!)).toEqual({ loggedIn: true, savedAt: 1_000 });
  });

  it("holds the account only when asked to (persistAccount)", () => {
    const st = memory();
    writeMarker(st, 1_000, { email: "user@example.com" });
    expect(JSON.parse(st.map.get(MARKER_KEY)!)).toEqual({ loggedIn: true, savedAt: 1_000, account: { email: "user@example.com" } });
  });

  it("is read back while fresh", () => {
    const st = memory();
    writeMarker(st, 1_000, null);
    expect(readMarker(st, 1_000 + DAY, 7 * DAY)).toEqual({ loggedIn: true, savedAt: 1_000 });
  });

  it("counts as none once older than the resume window, and is removed", () => {
    const st = memory();
    writeMarker(st, 1_000, null);
    expect(readMarker(st, 1_000 + 8 * DAY, 7 * DAY)).toBeNull();
    expect(st.map.has(MARKER_KEY)).toBe(false);
  });

  it("counts a marker dated in the future as none", () => {
    const st = memory();
    writeMarker(st, 10 * DAY, null);
    expect(readMarker(st, DAY, 7 * DAY)).toBeNull();
  });

  it.each([
    ["not JSON", "{loggedIn:"],
    ["JSON null", "null"],
    ["loggedIn false", JSON.stringify({ loggedIn: false, savedAt: 1 })],
    ["no savedAt", JSON.stringify({ loggedIn: true })],
    ["a string savedAt", JSON.stringify({ loggedIn: true, savedAt: "soon" })],
    ["an array", "[1,2]"],
  ])("treats a corrupt marker (%s) as none and removes it", (_why, raw) => {
    const st = memory({ [MARKER_KEY]: raw });
    expect(readMarker(st, 1_000, 7 * DAY)).toBeNull();
    expect(st.map.has(MARKER_KEY)).toBe(false);
  });

  it("survives storage that throws on every call (blocked cookies, private mode, quota)", () => {
    expect(readMarker(throwing, 1_000, DAY)).toBeNull();
    expect(() => writeMarker(throwing, 1_000, null)).not.toThrow();
    expect(() => writeMarker(throwing, 1_000)).not.toThrow();
  });

  it("does nothing without storage (null: disabled, or SSR)", () => {
    expect(readMarker(null, 1_000, DAY)).toBeNull();
    expect(() => writeMarker(null, 1_000, null)).not.toThrow();
  });

  it("is removed by a write without an account argument", () => {
    const st = memory();
    writeMarker(st, 1_000, null);
    writeMarker(st, 2_000);
    expect(st.map.size).toBe(0);
  });
});
