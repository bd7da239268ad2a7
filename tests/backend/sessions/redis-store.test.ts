import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { createRedisSessionStore } from "../../../src/backend/redis.js";
import { useRedis } from "../../support/redis-server.js";
import { describeSessionStore } from "../../support/session-store-conformance.js";

const redis = useRedis();

/** Every key under `prefix` with its full hash, as someone with redis-cli would read it. */
async function dumpPrefix(prefix: string): Promise<string> {
  const keys = await redis.client.keys(`${prefix}*`);
  const rows = await Promise.all(keys.map(async (key) => ({ key, ttl: await redis.client.pTTL(key), value: await redis.client.hGetAll(key) })));
  return JSON.stringify(rows);
}

describeSessionStore("redis store", async (opts) => {
  const prefix = `conformance:${randomBytes(6).toString("hex")}:`;
  const store = createRedisSessionStore({ client: redis.client, prefix, ...opts });
  return {
    store,
    dump: () => dumpPrefix(prefix),
    cleanup: async () => {
      const keys = await redis.client.keys(`${prefix}*`);
      if (keys.length > 0) await redis.client.del(keys);
    },
  };
});

const newId = (): string => randomBytes(16).toString("base64url");

describe("redis store: on a real server", () => {
  it("sets a PEXPIRE backstop of the idle timeout plus slack, bounded by the absolute deadline", async () => {
    const prefix = `ttl:${randomBytes(4).toString("hex")}:`;
    let clock = Date.now();
    const store = createRedisSessionStore({ client: redis.client, prefix, now: () => clock, idleTimeoutMs: 60_000, absoluteTimeoutMs: 100_000, expirySlackMs: 1_000 });
    const id = newId();
    await store.create(id, { data: "", createdAt: clock });
    const [key] = await redis.client.keys(`${prefix}*`);
    expect(await redis.client.pTTL(key as string)).toBeGreaterThan(55_000);
    expect(await redis.client.pTTL(key as string)).toBeLessThanOrEqual(61_000);
    clock += 59_000;
    await store.get(id); // 41 s of absolute lifetime left: the backstop shrinks to it
    expect(await redis.client.pTTL(key as string)).toBeLessThanOrEqual(42_000);
    expect(await redis.client.pTTL(key as string)).toBeGreaterThan(35_000);
  });

  it("gives a session that never signed in a backstop of the pending idle timeout, and the full one once signed in", async () => {
    const prefix = `pending-ttl:${randomBytes(4).toString("hex")}:`;
    const clock = Date.now();
    const store = createRedisSessionStore({ client: redis.client, prefix, now: () => clock, idleTimeoutMs: 3_600_000, pendingIdleTimeoutMs: 60_000, expirySlackMs: 1_000 });
    const id = newId();
    await store.create(id, { data: "", createdAt: clock, authenticated: false });
    const [key] = await redis.client.keys(`${prefix}*`);
    expect(await redis.client.pTTL(key as string)).toBeLessThanOrEqual(61_000);
    expect(await redis.client.pTTL(key as string)).toBeGreaterThan(55_000);
    await store.save(id, { data: "signed in", createdAt: clock, authenticated: true });
    expect(await redis.client.pTTL(key as string)).toBeGreaterThan(3_500_000);
  });

  it("reads a record written before the signed-in flag existed as signed in, so an upgrade signs no one out", async () => {
    const prefix = `legacy:${randomBytes(4).toString("hex")}:`;
    let clock = Date.now();
    const store = createRedisSessionStore({ client: redis.client, prefix, now: () => clock, idleTimeoutMs: 3_600_000, pendingIdleTimeoutMs: 60_000 });
    const id = newId();
    await store.create(id, { data: "old", createdAt: clock, authenticated: true });
    const [key] = await redis.client.keys(`${prefix}*`);
    await redis.client.hDel(key as string, "a"); // what the previous version wrote: no flag
    clock += 120_000;
    expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "old" } });
  });

  it("lets the backstop remove an abandoned session with no help from the store", async () => {
    const prefix = `backstop:${randomBytes(4).toString("hex")}:`;
    const store = createRedisSessionStore({ client: redis.client, prefix, idleTimeoutMs: 50, expirySlackMs: 0 });
    await store.create(newId(), { data: "", createdAt: Date.now() });
    expect(await redis.client.keys(`${prefix}*`)).toHaveLength(1);
    await expect.poll(() => redis.client.keys(`${prefix}*`), { timeout: 3_000, interval: 25 }).toHaveLength(0);
  });

  it("recovers after the server forgets its scripts (SCRIPT FLUSH or a restart)", async () => {
    const store = createRedisSessionStore({ client: redis.client, prefix: `flush:${randomBytes(4).toString("hex")}:` });
    const id = newId();
    await store.create(id, { data: "before", createdAt: Date.now() });
    await redis.client.scriptFlush();
    expect(await store.get(id)).toMatchObject({ state: "active", session: { data: "before" } });
  });

  it("keeps exactly one winner when 20 rotations race over separate connections", async () => {
    const prefix = `race:${randomBytes(4).toString("hex")}:`;
    const clients = await Promise.all(Array.from({ length: 20 }, () => createClient({ url: redis.server.url }).connect()));
    try {
      const oldId = newId();
      await createRedisSessionStore({ client: redis.client, prefix }).create(oldId, { data: "payload", createdAt: Date.now() });
      const results = await Promise.all(
        clients.map((c) => createRedisSessionStore({ client: c, prefix }).rotate(oldId, newId(), 5_000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      // one new session plus the old id's rotation marker
      expect(await redis.client.keys(`${prefix}*`)).toHaveLength(2);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it("keys on SHA-256 of the id under the prefix", async () => {
    const prefix = `keys:${randomBytes(4).toString("hex")}:`;
    const store = createRedisSessionStore({ client: redis.client, prefix });
    const id = newId();
    await store.create(id, { data: "", createdAt: Date.now() });
    const { createHash } = await import("node:crypto");
    expect(await redis.client.keys(`${prefix}*`)).toEqual([prefix + createHash("sha256").update(id).digest("base64url")]);
  });
});
