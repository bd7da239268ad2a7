import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemorySessionStore } from "../src/backend/sessions/memory-store.js";
import { describeSessionStore } from "./session-store-conformance.js";

describeSessionStore("memory store", async (opts) => {
  const store = createMemorySessionStore(opts);
  return { store, dump: async () => store.dump(), cleanup: async () => store.close() };
});

const newId = (): string => randomBytes(16).toString("base64url");

describe("memory store: expiry costs nothing per request", () => {
  it("drops an expired session when it is next touched, without a sweep", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepPerCall: 0, sweepIntervalMs: 0 });
    const id = newId();
    await store.create(id, { data: "", createdAt: clock });
    clock += 1_000;
    expect(store.size).toBe(1);
    expect(await store.get(id)).toEqual({ state: "missing" });
    expect(store.size).toBe(0);
  });

  it("checks only a few entries per write, not the whole map", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepPerCall: 2, sweepIntervalMs: 0 });
    for (let i = 0; i < 1_000; i++) await store.create(newId(), { data: "", createdAt: clock });
    clock += 1_000; // all 1,000 are now expired
    await store.create(newId(), { data: "", createdAt: clock });
    expect(store.size).toBe(1_001 - 2);
    await store.save(newId(), { data: "", createdAt: clock });
    expect(store.size).toBe(1_001 - 4);
  });

  it("never lets the map grow past its live sessions by much: each create clears expired ones ahead of it", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 10, sweepIntervalMs: 0 });
    // 20,000 sessions, each abandoned right away: at most ~10 are live at any instant.
    for (let i = 0; i < 20_000; i++) {
      await store.create(newId(), { data: "", createdAt: clock });
      clock += 1;
    }
    expect(store.size).toBeLessThan(100);
  });

  it("gets do not sweep: a get of one session leaves others' expired entries alone", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepIntervalMs: 0 });
    const keep = newId();
    await store.create(keep, { data: "", createdAt: clock });
    for (let i = 0; i < 50; i++) await store.create(newId(), { data: "", createdAt: clock });
    clock += 999;
    await store.get(keep);
    clock += 1;
    const before = store.size;
    for (let i = 0; i < 10; i++) expect((await store.get(keep)).state).toBe("active");
    expect(store.size).toBe(before);
  });

  it("sweeps in slices that resume where the last one stopped", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepPerCall: 0, sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) await store.create(newId(), { data: "", createdAt: clock });
    clock += 1_000;
    expect(store.sweep(30)).toBe(30);
    expect(store.sweep(30)).toBe(30);
    expect(store.sweep(30)).toBe(30);
    expect(store.sweep(30)).toBe(10);
    expect(store.size).toBe(0);
  });

  it("keeps live sessions and unexpired rotation markers through a sweep", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepIntervalMs: 0 });
    const [a, b, c] = [newId(), newId(), newId()];
    await store.create(a, { data: "", createdAt: clock });
    await store.create(c, { data: "", createdAt: clock });
    await store.rotate(a, b, 500);
    clock += 400;
    expect(store.sweep()).toBe(0);
    expect(await store.get(a)).toEqual({ state: "rotated" });
    clock += 100;
    expect(store.sweep()).toBe(1); // the marker, and nothing else
    expect((await store.get(b)).state).toBe("active");
    expect((await store.get(c)).state).toBe("active");
  });

  it("sweeps in the background on an unref'd timer", async () => {
    let clock = 1_000_000;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, sweepPerCall: 0, sweepIntervalMs: 10, sweepSliceSize: 1_000 });
    for (let i = 0; i < 50; i++) await store.create(newId(), { data: "", createdAt: clock });
    clock += 1_000;
    await expect.poll(() => store.size, { timeout: 2_000, interval: 10 }).toBe(0);
    store.close();
  });
});

describe("memory store: what it keys on", () => {
  it("files each session under SHA-256 of its id, never the id", async () => {
    const store = createMemorySessionStore({ sweepIntervalMs: 0 });
    const id = newId();
    await store.create(id, { data: "", createdAt: Date.now() });
    const { createHash } = await import("node:crypto");
    const rows = JSON.parse(store.dump()) as Array<{ key: string }>;
    expect(rows.map((r) => r.key)).toEqual([createHash("sha256").update(id).digest("hex")]);
    expect(store.dump()).not.toContain(id);
  });
});
