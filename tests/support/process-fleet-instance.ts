/**
 * One backend instance of the fleet tests, run as a process of its own
 * (`node --conditions=codex-auth-source --import tsx`): the Node adapter, the
 * direct runner on the simulator, and the Redis session store. Configured by
 * FLEET_CONFIG (JSON); tells its parent its port over IPC, answers "rss" with
 * `{ rss }` (bytes), and stops on "stop".
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, createCluster } from "redis";
import { createNodeHandler } from "../../src/backend/adapters/node.js";
import { createRedisSessionStore } from "../../src/backend/sessions/redis-store.js";
import { directRunner } from "../../src/backend/direct.js";

export interface FleetInstanceConfig {
  name: string;
  redisUrl: string;
  /** Primaries of a Redis Cluster: given, the store runs on the cluster and `redisUrl` is ignored. */
  redisClusterUrls?: string[];
  simulatorUrl: string;
  cookieSecret: string;
  /** Extra directRunner options (JSON-safe). */
  runner?: Record<string, unknown>;
}

export interface FleetInstanceReady {
  name: string;
  port: number;
  pid: number;
}

const config = JSON.parse(process.env.FLEET_CONFIG ?? "{}") as FleetInstanceConfig;

const client =
  config.redisClusterUrls === undefined
    ? createClient({ url: config.redisUrl })
    : createCluster({ rootNodes: config.redisClusterUrls.map((url) => ({ url })) });
client.on("error", () => undefined); // the fleet tests stop and freeze Redis on purpose; the store reports it
await client.connect();

const handler = createNodeHandler({
  runner: directRunner({ issuer: config.simulatorUrl, backendBaseUrl: `${config.simulatorUrl}/backend-api`, ...config.runner }),
  cookieSecret: config.cookieSecret,
  cookieOptions: { secure: false },
  sessionStore: createRedisSessionStore({ client }),
  // The test's proxy is every client's peer: one bucket for all would throttle the test, not an attacker.
  rateLimits: false,
  logger: {
    info: () => undefined,
    warn: (message) => process.stderr.write(`[${config.name}] warn ${message}\n`),
    error: (message, fields) => process.stderr.write(`[${config.name}] error ${message} ${JSON.stringify(fields ?? {})}\n`),
  },
});

const server = createServer((req, res) => void handler(req, res));
server.listen(0, "127.0.0.1", () => {
  const ready: FleetInstanceReady = { name: config.name, port: (server.address() as AddressInfo).port, pid: process.pid };
  process.send?.(ready);
});

process.on("message", (message) => {
  if (message === "rss") process.send?.({ rss: process.memoryUsage().rss });
  if (message !== "stop") return;
  server.closeAllConnections();
  server.close();
  void client.quit().finally(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0)); // the test process went away
