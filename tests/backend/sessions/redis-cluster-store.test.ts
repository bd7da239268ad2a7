/**
 * The Redis store on a real Redis Cluster (three primaries on loopback): every
 * script's keys must hash to one slot, or Redis refuses it with CROSSSLOT.
 */
import { randomBytes } from "node:crypto";
import { createCluster } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisSessionStore } from "../../../src/backend/redis.js";
import { startRedisCluster, type RedisCluster, type RedisClusterClient } from "../../support/redis-cluster.js";
import { describeSessionStore } from "../../support/session-store-conformance.js";

let cluster: RedisCluster;
let client: RedisClusterClient;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
  await client.connect();
}, 60_000);
afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

/** Every key under `prefix` on every primary, with its hash. */
async function dumpPrefix(prefix: string): Promise<string> {
  const rows: unknown[] = [];
  for (const node of client.masters) {
    const nodeClient = await client.nodeClient(node);
    for (const key of await nodeClient.keys(`${prefix}*`)) rows.push({ key, value: await nodeClient.hGetAll(key) });
  }
  return JSON.stringify(rows);
}

describeSessionStore("redis store on a cluster", async (opts) => {
  const prefix = `cluster:${randomBytes(6).toString("hex")}:`;
  const store = createRedisSessionStore({ client, prefix, ...opts });
  return {
    store,
    dump: () => dumpPrefix(prefix),
    cleanup: async () => {
      for (const node of client.masters) {
        const nodeClient = await client.nodeClient(node);
        const keys = await nodeClient.keys(`${prefix}*`);
        for (const key of keys) await nodeClient.del(key);
      }
    },
  };
});

describe("the cluster itself", () => {
  it("spreads sessions over more than one primary (so the suite above really crosses slots)", async () => {
    const prefix = `spread:${randomBytes(6).toString("hex")}:`;
    const store = createRedisSessionStore({ client, prefix });
    for (let i = 0; i < 30; i++) await store.create(randomBytes(32).toString("base64url"), { data: "x", createdAt: Date.now() });
    let holding = 0;
    for (const node of client.masters) {
      const nodeClient = await client.nodeClient(node);
      if ((await nodeClient.keys(`${prefix}*`)).length > 0) holding++;
    }
    expect(holding).toBeGreaterThan(1);
  });
});
