/**
 * The Sentinel set-up DEPLOYMENT.md recommends, on real processes: a primary,
 * a replica and one Sentinel. When the primary dies the handler answers 503
 * STORE_UNAVAILABLE until Sentinel has promoted the replica, then serves the
 * same sessions from it, with nothing restarted.
 */
import { once } from "node:events";
import { createClient, createSentinel } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import { createRedisSessionStore } from "../../../src/backend/sessions/redis-store.js";
import { Browser, SECRET } from "../../support/handler-harness.js";
import { startRedisServer, type RedisServer } from "../../support/redis-server.js";
import { createTestRunner } from "../../support/test-runner.js";

const CALL_TIMEOUT_MS = 300;
// Generous: two cores shared by several suites.
const ANSWER_BOUND_MS = CALL_TIMEOUT_MS + 2_000;

const servers: RedisServer[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  for (const server of servers) await server.stop();
});

async function start(options: Parameters<typeof startRedisServer>[0] = {}): Promise<RedisServer> {
  const server = await startRedisServer(options);
  servers.push(server);
  return server;
}

describe("a Sentinel-managed primary that fails over", () => {
  it("answers 503 STORE_UNAVAILABLE while no primary answers, then serves the same session from the promoted replica", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const primary = await start();
      const replica = await start({ args: ["--replicaof", "127.0.0.1", String(primary.port)] });
      const replicaClient = createClient({ url: replica.url });
      replicaClient.on("error", () => undefined);
      await replicaClient.connect();
      closers.push(() => replicaClient.close());
      await waitFor(async () => (await replicaClient.info("replication")).includes("master_link_status:up"), 10_000, "replica in sync");

      const sentinelServer = await start({
        config: [
          `sentinel monitor codex 127.0.0.1 ${primary.port} 1`,
          "sentinel down-after-milliseconds codex 500",
          "sentinel failover-timeout codex 5000",
        ].join("\n"),
        args: ["--sentinel"],
      });
      const redis = createSentinel({
        name: "codex",
        sentinelRootNodes: [{ host: "127.0.0.1", port: sentinelServer.port }],
        nodeClientOptions: { disableOfflineQueue: true, commandsQueueMaxLength: 1_000 },
      });
      redis.on("error", () => undefined);
      await redis.connect();
      closers.push(() => redis.destroy());

      const runner = createTestRunner();
      const handler = createCodexHandler({
        runner,
        cookieSecret: SECRET,
        sessionStore: createRedisSessionStore({ client: redis, prefix: "sentinel:session:", callTimeoutMs: CALL_TIMEOUT_MS }),
        rateLimits: false,
      });
      const user = new Browser(handler);
      await user.signIn(runner);
      // Replication is asynchronous: wait until the replica has applied all the primary wrote, so this test is about failover.
      const primaryClient = createClient({ url: primary.url });
      primaryClient.on("error", () => undefined);
      await primaryClient.connect();
      const written = offset(await primaryClient.info("replication"), "master_repl_offset");
      primaryClient.destroy();
      await waitFor(async () => offset(await replicaClient.info("replication"), "slave_repl_offset") >= written, 5_000, "replica caught up");

      const exited = once(primary.child, "exit");
      primary.child.kill("SIGKILL");
      await exited;

      const seen = new Set<number>();
      const started = Date.now();
      for (;;) {
        const asked = performance.now();
        const answer = await user.get("/status");
        expect(performance.now() - asked).toBeLessThan(ANSWER_BOUND_MS);
        seen.add(answer.status);
        if (answer.status === 200) {
          expect(await answer.json()).toMatchObject({ ok: true, account: { email: "ann@example.com" } });
          break;
        }
        expect(await answer.json()).toMatchObject({ code: "STORE_UNAVAILABLE", retryAfter: 1 });
        if (Date.now() - started > 20_000) throw new Error("no failover within 20 s");
        await new Promise((resolve) => setTimeout(resolve, 100)); // a client retrying, as after Retry-After
      }
      expect([...seen].sort()).toEqual([200, 503]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

/** Polls an async check until it holds. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A replication offset from INFO replication. */
function offset(info: string, name: "master_repl_offset" | "slave_repl_offset"): number {
  const match = new RegExp(`(?:^|\\n)${name}:(\\d+)`).exec(info);
  if (match === null) throw new Error(`no ${name} in INFO replication`);
  return Number(match[1]);
}
