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
import type { CodexRunner } from "../src/backend/runners/types.js";

export interface RedisChildConfig {
  redisUrl: string;
}
export interface RedisChildReady {
  baseUrl: string;
  /** Cookie of the signed-in session of each status handler. */
  cookies: { mem: string; redis: string };
}

const SECRET = "bench-Secret-7Hq2Zr9Lm4Xv1Kp8Wd";
export const PREFIXES = ["/mem", "/redis", "/mem-fresh", "/redis-fresh"] as const;

/** Signs in at once, keeping what a real runner keeps: a few short strings in ctx.data (as bench/server-child.ts). */
const runner: CodexRunner = {
  async startDeviceLogin(ctx) {
    ctx.data.loggedIn = true;
    return { status: "authenticated", account: { email: "bench@example.com" } };
  },
  async getStatus(ctx) {
    return ctx.data.loggedIn === true ? { status: "authenticated", account: { email: "bench@example.com" } } : { status: "logged_out" };
  },
  async *run() {
    yield { type: "done", result: {} };
  },
  async logout(ctx) {
    delete ctx.data.loggedIn;
  },
};

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
    runner,
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
    cookies: { mem: await signIn(`${baseUrl}/mem/api/codex`), redis: await signIn(`${baseUrl}/redis/api/codex`) },
  };
  process.on("message", (m) => {
    if (m === "cpu") process.send?.({ cpuMicros: cpuMicros() });
    if (m === "stop") {
      server.closeAllConnections();
      server.close(() => void client.quit().finally(() => process.exit(0)));
    }
  });
  process.on("disconnect", () => process.exit(0)); // the bench went away
  process.send?.(ready);
}

/** POST /session then /login/start over real HTTP; returns the signed-in cookie. */
async function signIn(api: string): Promise<string> {
  const origin = new URL(api).origin;
  const post = (path: string, cookie?: string) =>
    fetch(api + path, { method: "POST", headers: { origin, ...(cookie === undefined ? {} : { cookie }) } });
  const created = await post("/session");
  const cookie = cookieOf(created);
  const login = await post("/login/start", cookie);
  if (login.status !== 200) throw new Error(`bench: login failed (${login.status})`);
  return login.headers.getSetCookie().length > 0 ? cookieOf(login) : cookie;
}

function cookieOf(response: Response): string {
  const header = response.headers.getSetCookie()[0];
  if (!header) throw new Error(`bench: no Set-Cookie (status ${response.status})`);
  return header.split(";")[0] as string;
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

const raw = process.env.CODEX_BENCH_REDIS_CHILD;
if (raw) {
  main(JSON.parse(raw) as RedisChildConfig).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
