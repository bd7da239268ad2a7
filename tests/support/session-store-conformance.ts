import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSealer } from "../../src/backend/sessions/seal.js";
import type { SessionStore, StoredSession } from "../../src/backend/sessions/types.js";

/** What a store factory receives: the suite's clock and timeouts, which the store must honour. */
export interface StoreFactoryOptions {
  now: () => number;
  idleTimeoutMs: number;
  pendingIdleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

/** A store under test, with a way to read its raw contents and to tear it down. */
export interface StoreUnderTest {
  store: SessionStore;
  /** Everything the store holds, as text (keys and values), as someone reading the store directly would see it. */
  dump: () => Promise<string>;
  cleanup: () => Promise<void>;
}

const IDLE_MS = 60_000;
const PENDING_IDLE_MS = 10_000;
const ABSOLUTE_MS = 10 * 60_000;
const GRACE_MS = 5_000;
const START = 1_767_225_600_000; // 2026-01-01T00:00:00Z: a realistic epoch, far above 2^31

const newId = (): string => randomBytes(16).toString("base64url");
/** A signed-in session: the full idle timeout applies. */
const session = (data: string, createdAt = START): StoredSession => ({ data, createdAt, authenticated: true });
/** A session that never signed in, as POST /session makes it: the short pending idle timeout applies. */
const pending = (data: string, createdAt = START): StoredSession => ({ data, createdAt, authenticated: false });

/**
 * The one suite every `SessionStore` passes (memory, Redis, and any future store).
 *
 * @example
 * describeSessionStore("memory store", async (opts) => {
 *   const store = createMemorySessionStore(opts);
 *   return { store, dump: async () => store.dump(), cleanup: async () => store.close() };
 * });
 */
export function describeSessionStore(name: string, make: (opts: StoreFactoryOptions) => Promise<StoreUnderTest>): void {
  describe(`${name} (SessionStore conformance)`, () => {
    let clock = START;
    let subject: StoreUnderTest;
    let store: SessionStore;
    const advance = (ms: number): void => {
      clock += ms;
    };

    beforeEach(async () => {
      clock = START;
      subject = await make({ now: () => clock, idleTimeoutMs: IDLE_MS, pendingIdleTimeoutMs: PENDING_IDLE_MS, absoluteTimeoutMs: ABSOLUTE_MS });
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    describe("basic life cycle", () => {
      it("reads back a session it created, data and createdAt intact", async () => {
        const id = newId();
        await store.create(id, session("v1.sealed-data", START - 1_000));
        expect(await store.get(id)).toEqual({ state: "active", session: { data: "v1.sealed-data", createdAt: START - 1_000 } });
      });

      it("answers missing for an id it never saw", async () => {
        expect(await store.get(newId())).toEqual({ state: "missing" });
      });

      it("keeps two sessions apart", async () => {
        const [a, b] = [newId(), newId()];
        await store.create(a, session("A"));
        await store.create(b, session("B"));
        await store.save(b, session("B2"));
        expect(await store.get(a)).toMatchObject({ state: "active", session: { data: "A" } });
        expect(await store.get(b)).toMatchObject({ state: "active", session: { data: "B2" } });
      });

      it("stores an empty payload (an idle session that never logged in)", async () => {
        const id = newId();
        await store.create(id, session(""));
        expect(await store.get(id)).toEqual({ state: "active", session: { data: "", createdAt: START } });
      });

      it("saves new data but never moves createdAt (the absolute timeout cannot be extended)", async () => {
        const id = newId();
        await store.create(id, session("old"));
        await store.save(id, session("new", START + 999_999));
        expect(await store.get(id)).toEqual({ state: "active", session: { data: "new", createdAt: START } });
      });

      it("forgets a deleted session, and deleting twice or an unknown id is harmless", async () => {
        const id = newId();
        await store.create(id, session("x"));
        await store.delete(id);
        await store.delete(id);
        await store.delete(newId());
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("does not resurrect a deleted session on save", async () => {
        const id = newId();
        await store.create(id, session("x"));
        await store.delete(id);
        await store.save(id, session("late write from a run that outlived logout"));
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("does not create a session on save of an unknown id", async () => {
        const id = newId();
        await store.save(id, session("forged"));
        expect(await store.get(id)).toEqual({ state: "missing" });
      });
    });

    describe("timeouts", () => {
      it("expires a session left idle for the idle timeout", async () => {
        const id = newId();
        await store.create(id, session("x"));
        advance(IDLE_MS - 1);
        expect((await store.get(id)).state).toBe("active");
        advance(IDLE_MS);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("refreshes the idle timeout on get", async () => {
        const id = newId();
        await store.create(id, session("x"));
        for (let i = 0; i < 4; i++) {
          advance(IDLE_MS - 1);
          expect((await store.get(id)).state).toBe("active");
        }
      });

      it("refreshes the idle timeout on save", async () => {
        const id = newId();
        await store.create(id, session("x"));
        advance(IDLE_MS - 1);
        await store.save(id, session("y"));
        advance(IDLE_MS - 1);
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "y" } });
      });

      it("expires a busy session at the absolute timeout, counted from createdAt", async () => {
        const id = newId();
        await store.create(id, session("x"));
        while (clock + IDLE_MS / 2 < START + ABSOLUTE_MS) {
          advance(IDLE_MS / 2);
          expect((await store.get(id)).state).toBe("active");
        }
        clock = START + ABSOLUTE_MS;
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("does not bring an idle-expired session back on save", async () => {
        const id = newId();
        await store.create(id, session("x"));
        advance(IDLE_MS);
        await store.save(id, session("y"));
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("keeps the absolute deadline across rotation", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("x"));
        while (clock + IDLE_MS / 2 < START + ABSOLUTE_MS - IDLE_MS / 2) {
          advance(IDLE_MS / 2);
          await store.get(oldId); // kept busy, so only the absolute timeout can end it
        }
        clock = START + ABSOLUTE_MS - IDLE_MS / 2;
        expect(await store.rotate(oldId, nextId, GRACE_MS)).toBe(true);
        expect(await store.get(nextId)).toEqual({ state: "active", session: { data: "x", createdAt: START } });
        advance(IDLE_MS / 2);
        expect(await store.get(nextId)).toEqual({ state: "missing" });
      });
    });

    describe("sessions that never signed in", () => {
      it("expires a session that never signed in after the short pending idle timeout", async () => {
        const id = newId();
        await store.create(id, pending(""));
        advance(PENDING_IDLE_MS - 1);
        expect((await store.get(id)).state).toBe("active");
        advance(PENDING_IDLE_MS);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("treats a session created without the flag as not signed in", async () => {
        const id = newId();
        await store.create(id, { data: "", createdAt: START });
        advance(PENDING_IDLE_MS);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("keeps a pending session alive while it is polled (a user in the middle of a device login)", async () => {
        const id = newId();
        await store.create(id, pending(""));
        for (let i = 0; i < 10; i++) {
          advance(PENDING_IDLE_MS - 1);
          expect((await store.get(id)).state).toBe("active");
        }
      });

      it("gives a session the full idle timeout once a save marks it signed in", async () => {
        const id = newId();
        await store.create(id, pending(""));
        advance(PENDING_IDLE_MS - 1);
        await store.save(id, session("signed in"));
        advance(IDLE_MS - 1);
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "signed in" } });
        advance(IDLE_MS);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("keeps a save without the flag from changing whether the session is signed in", async () => {
        const [signedIn, waiting] = [newId(), newId()];
        await store.create(signedIn, session("a"));
        await store.create(waiting, pending("b"));
        await store.save(signedIn, { data: "a2", createdAt: START });
        await store.save(waiting, { data: "b2", createdAt: START });
        advance(PENDING_IDLE_MS);
        expect(await store.get(signedIn)).toMatchObject({ state: "active", session: { data: "a2" } });
        expect(await store.get(waiting)).toEqual({ state: "missing" });
      });

      it("shortens the idle timeout again when a save marks a session signed out", async () => {
        const id = newId();
        await store.create(id, session("in"));
        await store.save(id, pending("out"));
        advance(PENDING_IDLE_MS);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });

      it("carries the signed-in standing across rotation", async () => {
        const [a, b, c, d] = [newId(), newId(), newId(), newId()];
        await store.create(a, session("in"));
        await store.create(c, pending("waiting"));
        expect(await store.rotate(a, b, GRACE_MS)).toBe(true);
        expect(await store.rotate(c, d, GRACE_MS)).toBe(true);
        advance(PENDING_IDLE_MS);
        expect((await store.get(b)).state).toBe("active");
        expect(await store.get(d)).toEqual({ state: "missing" });
      });

      it("never hands the flag back on get: the sealed data stays the only truth", async () => {
        const id = newId();
        await store.create(id, session("x"));
        expect(await store.get(id)).toEqual({ state: "active", session: { data: "x", createdAt: START } });
      });
    });

    describe("rotation", () => {
      it("moves the session to the new id; the old id answers rotated, then missing after the grace period", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("payload"));
        expect(await store.rotate(oldId, nextId, GRACE_MS)).toBe(true);
        expect(await store.get(nextId)).toEqual({ state: "active", session: { data: "payload", createdAt: START } });
        expect(await store.get(oldId)).toEqual({ state: "rotated" });
        advance(GRACE_MS - 1);
        expect(await store.get(oldId)).toEqual({ state: "rotated" });
        advance(1);
        expect(await store.get(oldId)).toEqual({ state: "missing" });
        expect((await store.get(nextId)).state).toBe("active");
      });

      it("lets exactly one of 20 concurrent rotations win", async () => {
        const oldId = newId();
        await store.create(oldId, session("payload"));
        const candidates = Array.from({ length: 20 }, newId);
        const results = await Promise.all(candidates.map((id) => store.rotate(oldId, id, GRACE_MS)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = candidates[results.indexOf(true)] as string;
        expect(await store.get(winner)).toMatchObject({ state: "active", session: { data: "payload" } });
        for (const loser of candidates.filter((id) => id !== winner)) {
          expect(await store.get(loser)).toEqual({ state: "missing" });
        }
        expect(await store.get(oldId)).toEqual({ state: "rotated" });
      });

      it("never lets the old id write to the session again", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("real"));
        await store.rotate(oldId, nextId, GRACE_MS);
        await store.save(oldId, session("written through the stale cookie"));
        expect(await store.get(nextId)).toMatchObject({ state: "active", session: { data: "real" } });
        expect(await store.get(oldId)).toEqual({ state: "rotated" });
      });

      it("refuses to rotate a missing, rotated or expired session", async () => {
        expect(await store.rotate(newId(), newId(), GRACE_MS)).toBe(false);
        const [a, b, c] = [newId(), newId(), newId()];
        await store.create(a, session("x"));
        await store.rotate(a, b, GRACE_MS);
        expect(await store.rotate(a, c, GRACE_MS)).toBe(false);
        expect(await store.get(c)).toEqual({ state: "missing" });
        advance(IDLE_MS);
        expect(await store.rotate(b, c, GRACE_MS)).toBe(false);
        expect(await store.get(c)).toEqual({ state: "missing" });
      });

      it("refuses to rotate onto an id that is already a session", async () => {
        const [a, b] = [newId(), newId()];
        await store.create(a, session("A"));
        await store.create(b, session("B"));
        expect(await store.rotate(a, b, GRACE_MS)).toBe(false);
        expect(await store.get(a)).toMatchObject({ state: "active", session: { data: "A" } });
        expect(await store.get(b)).toMatchObject({ state: "active", session: { data: "B" } });
      });

      it("with no grace period, leaves the old id missing at once", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("x"));
        expect(await store.rotate(oldId, nextId, 0)).toBe(true);
        expect(await store.get(oldId)).toEqual({ state: "missing" });
      });

      it("ends the old id's rotation marker when the new session is deleted (logout)", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("x"));
        await store.rotate(oldId, nextId, GRACE_MS);
        await store.delete(nextId);
        expect(await store.get(nextId)).toEqual({ state: "missing" });
        expect(await store.get(oldId)).toEqual({ state: "missing" });
      });
    });

    describe("compare-and-set saves (several instances on one store)", () => {
      it("writes when the store still holds the version the writer read, and says so", async () => {
        const id = newId();
        await store.create(id, session("v1"));
        expect(await store.save(id, session("v2"), { expected: "v1" })).toBe(true);
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "v2" } });
      });

      it("refuses a stale writer: the newer session stays as the other instance left it", async () => {
        const id = newId();
        await store.create(id, session("v1"));
        // Instances A and B both read v1; A writes first.
        expect(await store.save(id, session("v2 from A"), { expected: "v1" })).toBe(true);
        expect(await store.save(id, session("v2 from B, stale"), { expected: "v1" })).toBe(false);
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "v2 from A" } });
      });

      it("lets exactly one of 10 concurrent writers holding the same version win", async () => {
        const id = newId();
        await store.create(id, session("base"));
        const writes = Array.from({ length: 10 }, (_, i) => `write ${i}`);
        const results = await Promise.all(writes.map((data) => store.save(id, session(data), { expected: "base" })));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = writes[results.indexOf(true)];
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: winner } });
      });

      it("takes an empty payload as a version (the first write after POST /session)", async () => {
        const id = newId();
        await store.create(id, pending(""));
        expect(await store.save(id, session("signed in"), { expected: "" })).toBe(true);
        expect(await store.save(id, session("late"), { expected: "" })).toBe(false);
      });

      it("answers false, and writes nothing, for a missing, deleted or rotated session", async () => {
        const [gone, oldId, nextId] = [newId(), newId(), newId()];
        expect(await store.save(newId(), session("x"), { expected: "" })).toBe(false);
        await store.create(gone, session("v1"));
        await store.delete(gone);
        expect(await store.save(gone, session("v2"), { expected: "v1" })).toBe(false);
        expect(await store.save(gone, session("v2"))).toBe(false);
        expect(await store.get(gone)).toEqual({ state: "missing" });
        await store.create(oldId, session("v1"));
        await store.rotate(oldId, nextId, GRACE_MS);
        expect(await store.save(oldId, session("through the old id"), { expected: "v1" })).toBe(false);
        expect(await store.get(nextId)).toMatchObject({ state: "active", session: { data: "v1" } });
      });

      it("keeps the version across rotation: a write expecting what was read before it lands on the new id", async () => {
        const [oldId, nextId] = [newId(), newId()];
        await store.create(oldId, session("v1"));
        await store.rotate(oldId, nextId, GRACE_MS);
        expect(await store.save(nextId, session("v2"), { expected: "v1" })).toBe(true);
        expect(await store.get(nextId)).toMatchObject({ state: "active", session: { data: "v2" } });
      });

      it("still saves unconditionally without `expected`, and answers true", async () => {
        const id = newId();
        await store.create(id, session("v1"));
        expect(await store.save(id, session("v2"))).toBe(true);
        expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "v2" } });
      });

      it("does not refresh the idle timeout on a refused write", async () => {
        const id = newId();
        await store.create(id, session("v1"));
        advance(IDLE_MS - 1);
        expect(await store.save(id, session("stale"), { expected: "v0" })).toBe(false);
        advance(1);
        expect(await store.get(id)).toEqual({ state: "missing" });
      });
    });

    describe("what the store holds at rest", () => {
      it("keeps neither session ids nor the sealed-in tokens in its raw contents", async () => {
        const sealer = createSealer({ secret: "conformance-secret-0123456789abcdef" });
        const tokens = {
          accessToken: "AT-conformance-access-token-7f3a9c",
          refreshToken: "RT-conformance-refresh-token-51be02",
          idToken: "ID-conformance-id-token-c0ffee",
        };
        const [a, b, c] = [newId(), newId(), newId()];
        await store.create(a, session(await sealer.seal({})));
        await store.save(a, session(await sealer.seal({ tokens })));
        await store.rotate(a, b, GRACE_MS);
        await store.create(c, session(await sealer.seal({ tokens, note: "second" })));
        const raw = await subject.dump();
        expect(raw.length).toBeGreaterThan(0);
        for (const secret of [a, b, c, ...Object.values(tokens)]) expect(raw).not.toContain(secret);
        // The dump is not blank: the sealed payload is there, and it still opens with the key.
        const lookup = await store.get(c);
        expect(lookup.state).toBe("active");
        if (lookup.state === "active") {
          expect(raw).toContain(lookup.session.data);
          expect(await sealer.unseal(lookup.session.data)).toEqual({ tokens, note: "second" });
        }
      });
    });
  });
}
