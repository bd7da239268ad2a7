/**
 * The server side of bench/redis.bench.ts's store comparison, run in a child
 * process: node:http with the Node adapter serving four codex handlers that
 * differ only in their session store. `/mem` and `/redis` hold one signed-in
 * session each (for GET /status); `/mem-fresh` and `/redis-fresh` take the
 * POST /session floods, so the status stores stay as small as a quiet app's.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "redis";
import { createNodeHandler, type NodeListener } from "../src/backend/adapters/node.js";
import type { CodexHandlerOptions } from "../src/backend/core/options.js";
import { createMemorySessionStore } from "../src/backend/sessions/memory-store.js";
import { createRedisSessionStore } from "../src/backend/sessions/redis-store.js";
import type { SessionStore } from "../src/backend/sessions/types.js";
import { answerBench, SECRET, signedInRunner, signIn } from "./child-parts.js";

export interface RedisChildConfig {
  redisUrl: string;
}
export interface RedisChildReady {
  baseUrl: string;
  /** Cookie of the signed-in session of each status handler. */
  cookies: { mem: string; redis: string };
}

export const PREFIXES = ["/mem", "/redis", "/mem-fresh", "/redis-fresh"] as const;

async function main(config: RedisChildConfig): Promise<void> {
  const client = createClient({ url: config.redisUrl });
  client.on("error", (error: unknown) => console.error("bench redis client:", error));
  await client.connect();
  const stores: Record<(typeof PREFIXES)[number], SessionStore> = {
    "/mem": createMemorySessionStore(),
    "/redis": createRedisSessionStore({ client }),
    "/mem-fresh": createMemorySessionStore(),
    "/redis-fresh": createRedisSessionStore({ client }),
  };
  const options = (prefix: (typeof PREFIXES)[number]): CodexHandlerOptions => ({
    runner: signedInRunner,
    cookieSecret: SECRET,
    cookieOptions: { secure: false },
    // The built-in limiter stays on, in memory on both sides (the row compares stores), wide enough for one IP's flood.
    rateLimits: { sessionCreatePerIp: { points: 1_000_000_000, durationSec: 60 } },
    basePath: `${prefix}/api/codex`,
    sessionStore: stores[prefix],
  });
  const listeners = new Map<string, NodeListener>(PREFIXES.map((prefix) => [prefix, createNodeHandler(options(prefix))]));
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    const listener = listeners.get(url.slice(0, url.indexOf("/api/")));
    if (listener) void listener(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ready: RedisChildReady = {
    baseUrl,
    cookies: { mem: await signInOverHttp(`${baseUrl}/mem/api/codex`), redis: await signInOverHttp(`${baseUrl}/redis/api/codex`) },
  };
  answerBench(() => {
    server.closeAllConnections();
    server.close(() => void client.quit().finally(() => process.exit(0)));
  });
  process.on("disconnect", () => process.exit(0)); // the bench went away
  process.send?.(ready);
}

/** Signs in over real HTTP; returns the signed-in cookie. */
function signInOverHttp(api: string): Promise<string> {
  const origin = new URL(api).origin;
  return signIn((path, cookie) => fetch(api + path, { method: "POST", headers: { origin, ...(cookie === undefined ? {} : { cookie }) } }));
}

const raw = process.env.CODEX_BENCH_REDIS_CHILD;
if (raw) {
  main(JSON.parse(raw) as RedisChildConfig).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
