import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll } from "vitest";
import { createRedisSessionStore } from "../../../src/backend/sessions/redis-store.js";
import { internalsOf } from "../../../src/backend/sessions/store-internals.js";
import { describeCoordination } from "../../support/coordination-conformance.js";
import { describeFleet } from "../../support/fleet-scenarios.js";
import { useRedis, type RedisClient } from "../../support/redis-server.js";

const redis = useRedis();
// One connection per instance, as separate processes would have.
const clients: RedisClient[] = [];
beforeAll(async () => {
  for (let i = 0; i < 3; i++) clients.push(await createClient({ url: redis.server.url }).connect());
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit()));
});

const prefix = `fleet:${randomBytes(4).toString("hex")}:`;
describeFleet("redis store", { size: 3, store: (index) => createRedisSessionStore({ client: clients[index]!, prefix }) });

describeCoordination(
  "redis coordination",
  async () => {
    const holds = `coord:${randomBytes(4).toString("hex")}:`;
    const coordination = internalsOf(createRedisSessionStore({ client: redis.client, prefix: holds }))!.coordination;
    const dump = async (): Promise<string> => {
      const keys = await redis.client.keys(`${holds}*`);
      return JSON.stringify(await Promise.all(keys.map(async (key) => ({ key, value: await redis.client.get(key) }))));
    };
    return { coordination, dump };
  },
  true,
);
