import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { describeSessionStore } from "../../support/session-store-conformance.js";

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

describe("memory store: a ceiling on what a flood can make it hold", () => {
  const START = 1_000_000;
  const anonymous = (createdAt: number) => ({ data: "", createdAt, authenticated: false });
  const signedIn = (createdAt: number) => ({ data: "sealed-tokens", createdAt, authenticated: true });

  it("never holds more than maxSessions, however many sessions are created", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 100, sweepIntervalMs: 0 });
    for (let i = 0; i < 5_000; i++) {
      await store.create(newId(), anonymous(clock));
      clock += 1;
      expect(store.size).toBeLessThanOrEqual(100);
    }
    expect(store.size).toBe(100);
  });

  it("keeps every signed-in session through a flood of anonymous ones", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 50, sweepIntervalMs: 0 });
    const users = Array.from({ length: 10 }, newId);
    for (const id of users) await store.create(id, signedIn(clock));
    for (let i = 0; i < 10_000; i++) {
      await store.create(newId(), anonymous(clock));
      clock += 1;
    }
    expect(store.size).toBe(50);
    for (const id of users) expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "sealed-tokens" } });
  });

  it("evicts the least recently used anonymous session first, so a user polling mid-login outlasts idle ones", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 3, sweepIntervalMs: 0 });
    const [polling, idleA, idleB, newcomer] = [newId(), newId(), newId(), newId()];
    await store.create(polling, anonymous(clock));
    await store.create(idleA, anonymous((clock += 1)));
    await store.create(idleB, anonymous((clock += 1)));
    clock += 1;
    await store.get(polling); // the oldest, but just used
    await store.create(newcomer, anonymous((clock += 1)));
    expect((await store.get(polling)).state).toBe("active");
    expect(await store.get(idleA)).toEqual({ state: "missing" });
    expect((await store.get(idleB)).state).toBe("active");
    expect((await store.get(newcomer)).state).toBe("active");
  });

  it("evicts the least recently used signed-in session only when nothing else is left", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 3, sweepIntervalMs: 0 });
    const [oldest, recent, other] = [newId(), newId(), newId()];
    await store.create(oldest, signedIn(clock));
    await store.create(recent, signedIn((clock += 1)));
    await store.create(other, signedIn((clock += 1)));
    await store.get(oldest);
    await store.create(newId(), anonymous((clock += 1))); // full of signed-in users: the least recently used one goes
    expect((await store.get(oldest)).state).toBe("active");
    expect(await store.get(recent)).toEqual({ state: "missing" });
    expect((await store.get(other)).state).toBe("active");
    await store.create(newId(), anonymous((clock += 1))); // now an anonymous session is there to go instead
    expect((await store.get(oldest)).state).toBe("active");
    expect((await store.get(other)).state).toBe("active");
  });

  it("drops rotation markers after anonymous sessions but before signed-in ones", async () => {
    const clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 4, sweepIntervalMs: 0 });
    const [user, before, after, waiting] = [newId(), newId(), newId(), newId()];
    await store.create(user, signedIn(clock));
    await store.create(before, signedIn(clock));
    expect(await store.rotate(before, after, 60_000)).toBe(true); // a session and the marker its old id leaves
    await store.create(waiting, anonymous(clock)); // full: user, after, the marker, waiting
    await store.create(newId(), signedIn(clock)); // the anonymous session goes first
    expect(await store.get(waiting)).toEqual({ state: "missing" });
    expect(await store.get(before)).toEqual({ state: "rotated" });
    await store.create(newId(), signedIn(clock)); // then the marker, before any signed-in session
    expect(await store.get(before)).toEqual({ state: "missing" });
    expect((await store.get(user)).state).toBe("active");
    expect((await store.get(after)).state).toBe("active");
    expect(store.size).toBe(4);
  });

  it("makes room for a rotation without evicting the session being rotated", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, maxSessions: 3, sweepIntervalMs: 0 });
    const users = [newId(), newId()];
    for (const id of users) await store.create(id, signedIn(clock));
    const signingIn = newId();
    await store.create(signingIn, anonymous((clock += 1)));
    const next = newId();
    expect(await store.rotate(signingIn, next, 60_000)).toBe(true);
    expect((await store.get(next)).state).toBe("active");
    expect(await store.get(signingIn)).toEqual({ state: "rotated" });
    expect(store.size).toBe(3);
  });

  it("refuses a ceiling that is not a whole number of sessions", () => {
    for (const maxSessions of [0, -1, 1.5, Number.NaN]) {
      expect(() => createMemorySessionStore({ maxSessions, sweepIntervalMs: 0 })).toThrow(TypeError);
    }
    expect(() => createMemorySessionStore({ maxSessions: Number.POSITIVE_INFINITY, sweepIntervalMs: 0 })).not.toThrow();
  });

  it("holds 10,000 sessions by default", async () => {
    const clock = START;
    const store = createMemorySessionStore({ now: () => clock, sweepIntervalMs: 0 });
    for (let i = 0; i < 10_050; i++) await store.create(newId(), anonymous(clock));
    expect(store.size).toBe(10_000);
  });

  it("gives anonymous sessions a 15-minute idle timeout by default, signed-in ones 24 hours", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, sweepIntervalMs: 0 });
    const [waiting, user] = [newId(), newId()];
    await store.create(waiting, anonymous(clock));
    await store.create(user, signedIn(clock));
    clock += 15 * 60 * 1000 - 1;
    expect((await store.get(waiting)).state).toBe("active");
    clock += 15 * 60 * 1000;
    expect(await store.get(waiting)).toEqual({ state: "missing" });
    clock += 23 * 60 * 60 * 1000;
    expect((await store.get(user)).state).toBe("active");
  });

  it("caps the pending idle timeout at the signed-in one", async () => {
    let clock = START;
    const store = createMemorySessionStore({ now: () => clock, idleTimeoutMs: 1_000, pendingIdleTimeoutMs: 60_000, sweepIntervalMs: 0 });
    const id = newId();
    await store.create(id, anonymous(clock));
    clock += 1_000;
    expect(await store.get(id)).toEqual({ state: "missing" });
  });
});
