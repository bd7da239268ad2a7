import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterEach, describe, expect, it } from "vitest";
import type { RedisScriptClient } from "../../../src/backend/redis.js";
import { createRedisSessionStore } from "../../../src/backend/sessions/redis-store.js";
import { FLEET_SECRET, readRun, startFleet, type Fleet } from "../../support/fleet.js";
import { useRedis } from "../../support/redis-server.js";
import { until } from "../../support/until.js";

const redis = useRedis();
let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

const newPrefix = (): string => `inst:${randomBytes(4).toString("hex")}:`;

/** Every key under `prefix` (and the rate limits') with its value, as someone with redis-cli would read them. */
async function dumpAll(): Promise<string> {
  const keys = await redis.client.keys("*");
  const rows = await Promise.all(
    keys.map(async (key) => {
      const type = await redis.client.type(key);
      const value = type === "hash" ? await redis.client.hGetAll(key) : type === "string" ? await redis.client.get(key) : type;
      return { key, value };
    }),
  );
  return JSON.stringify(rows);
}

describe("instances on one Redis", () => {
  it("frees the run lease of an instance killed mid-run within seconds, and the next run works", async () => {
    const prefix = newPrefix();
    fleet = await startFleet({ size: 2, store: () => createRedisSessionStore({ client: redis.client, prefix }) });
    const user = fleet.browser();
    await user.signIn(fleet.sim);
    // tsx as a loader in this very process (its CLI would put a second process between us and the instance).
    const child = spawn(process.execPath, ["--import", "tsx", "tests/support/instance-child.ts"], {
      env: {
        ...process.env,
        REDIS_URL: redis.server.url,
        REDIS_PREFIX: prefix,
        SIM_URL: fleet.sim.url,
        CODEX_COOKIE: user.cookie ?? "",
        COOKIE_SECRET: FLEET_SECRET,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    try {
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await until(() => output.includes("streaming") || child.exitCode !== null, 20_000, "the child instance streaming");
      expect(output).toContain("streaming 200");
      // The child's run holds the lease: a run on another instance is refused.
      expect((await readRun(await user.request("/run/stream", 0, { method: "POST", body: { prompt: "x" } }))).body).toMatchObject({
        code: "RUN_IN_PROGRESS",
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL"); // no release, no goodbye
      await exited;
      const killedAt = Date.now();
      let attempts = 0;
      let run = await readRun(await user.request("/run/stream", 1, { method: "POST", body: { prompt: "right after" } }));
      expect(run.body).toMatchObject({ code: "RUN_IN_PROGRESS" }); // nobody released it: it must lapse
      while (run.status !== 200) {
        expect(Date.now() - killedAt).toBeLessThan(4_500); // lease 3 s, plus a loaded machine's slack
        await new Promise((resolve) => setTimeout(resolve, 100));
        run = await readRun(await user.request("/run/stream", 1 + (attempts++ % 2), { method: "POST", body: { prompt: "later" } }));
      }
      expect(run.events.at(-1)).toMatchObject({ type: "done" });
      expect(Date.now() - killedAt).toBeGreaterThan(1_500); // it did wait for the lease to lapse
    } finally {
      process.off("exit", killOnExit);
      child.kill("SIGKILL");
    }
  });

  it("counts rate limits in the session store's Redis, one bucket per client across instances, unless told not to", async () => {
    const prefix = newPrefix();
    const limits = { sessionCreatePerIp: { points: 3, durationSec: 60 } };
    fleet = await startFleet({ size: 3, store: () => createRedisSessionStore({ client: redis.client, prefix }), handler: { rateLimits: limits } });
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fleet.browser().request("/session", i, { method: "POST", ip })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    await fleet.close();

    const local = newPrefix();
    fleet = await startFleet({
      size: 3,
      store: () => createRedisSessionStore({ client: redis.client, prefix: local }),
      handler: { rateLimits: { ...limits, useSessionStore: false } },
    });
    const otherIp = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    const perProcess: number[] = [];
    for (let i = 0; i < 6; i++) perProcess.push((await fleet.browser().request("/session", i, { method: "POST", ip: otherIp })).status);
    expect(perProcess).toEqual([200, 200, 200, 200, 200, 200]); // two per instance: each counts alone
    expect(await dumpAll()).not.toContain(otherIp);
  });

  it("names at most one key in every script it sends (Redis Cluster), through a whole session's life on three instances", async () => {
    const prefix = newPrefix();
    const keyCounts: number[] = [];
    const connection = await createClient({ url: redis.server.url }).connect();
    try {
      const recording: RedisScriptClient = {
        eval: (script, options) => {
          keyCounts.push(options.keys.length);
          return connection.eval(script, options);
        },
        evalSha: (sha, options) => {
          keyCounts.push(options.keys.length);
          return connection.evalSha(sha, options);
        },
      };
      fleet = await startFleet({
        size: 3,
        store: () => createRedisSessionStore({ client: recording, prefix }),
        handler: { rateLimits: {} },
        sim: { accessTokenTtlSeconds: 3 },
        runner: { refreshMarginMs: 0 },
      });
      const user = fleet.browser();
      await user.signIn(fleet.sim, 1); // login start and sign-in each rotate the id
      fleet.clock.advance(3_100);
      expect((await user.run("refresh and run", 2)).events.at(-1)).toMatchObject({ type: "done" });
      expect((await user.json("/logout", 0, { method: "POST" })).status).toBe(200);
      expect(keyCounts.length).toBeGreaterThan(20);
      expect(keyCounts.filter((count) => count !== 1)).toEqual([]);
    } finally {
      await connection.quit();
    }
  });

  it("keeps every token and session id out of Redis keys and plain values, holds and limits included", async () => {
    const prefix = newPrefix();
    fleet = await startFleet({
      size: 3,
      store: () => createRedisSessionStore({ client: redis.client, prefix }),
      handler: { rateLimits: {} },
      sim: { accessTokenTtlSeconds: 3, answer: () => "word ".repeat(100) },
      runner: { refreshMarginMs: 0 },
    });
    const user = fleet.browser();
    await user.signIn(fleet.sim, 0);
    const ids = [user.cookie?.split("=")[1]?.split(".")[0]];
    fleet.clock.advance(3_100);
    fleet.sim.fault("slow-stream", { delayMs: 100, times: 1 });
    // Dump while a run streams (its lease held) and right after a refresh (its lock just used).
    const streaming = await user.request("/run/stream", 1, { method: "POST", body: { prompt: "hold on" } });
    const reader = streaming.body!.getReader();
    await reader.read();
    const raw = await dumpAll();
    await reader.cancel();
    expect(raw).toContain(`${prefix}hold:`); // the dump did see the lease
    const secrets = [...fleet.sim.issuedTokens(), ...ids];
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(raw).not.toContain(secret);
    }
  });
});
