/**
 * Three backend processes on one Redis behind a round-robin proxy, no sticky
 * sessions: one user's requests land on every instance in turn. What one
 * process guarantees must hold across all three.
 */
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFleet, type Fleet, type FleetOptions } from "../../support/process-fleet.js";
import { eventually } from "../../support/until.js";

// Tokens that live 8 s are refreshed from their half-life on (the runner's margin is capped at half a lifetime).
const TOKEN_TTL_S = 8;

describeProcessFleet("one Redis server", {});
describeProcessFleet("a three-primary Redis Cluster", { cluster: true });

function describeProcessFleet(redis: string, options: FleetOptions): void {
  describe(`three instances on ${redis}`, () => {
    let fleet: Fleet;
    beforeAll(async () => {
      fleet = await startFleet({ ...options, sim: { accessTokenTtlSeconds: TOKEN_TTL_S } });
    }, 90_000);
    afterAll(async () => {
      await fleet?.close();
    });

    it("spreads one browser's requests over every instance", async () => {
      const before = fleet.instances.map((instance) => instance.served);
      const browser = fleet.client();
      for (let i = 0; i < 6; i++) expect((await browser.json("/session", { method: "POST" })).status).toBe(200);
      expect(fleet.instances.every((instance, index) => instance.served >= (before[index] ?? 0) + 2)).toBe(true);
    });

    it("finishes on one instance a login started on another, and runs on a third", async () => {
      const browser = fleet.client();
      await browser.signIn();
      const run = await browser.run("hello fleet");
      expect(run.status).toBe(200);
      expect(run.events.at(-1)?.type).toBe("done");
      expect(fleet.sim.stats().refreshReuse).toBe(0);
    });

    it("after the tokens' half-life, 20 concurrent runs of one session make one upstream refresh and one run; nobody is signed out", async () => {
      const browser = fleet.client();
      await browser.signIn();
      const refreshes = fleet.sim.stats().refresh;
      await new Promise((resolve) => setTimeout(resolve, (TOKEN_TTL_S / 2) * 1000 + 300)); // a clock, not a race: the tokens must age
      // The one run that wins streams for seconds, so that on a loaded machine no late request finds it already over.
      fleet.sim.fault("slow-stream", { delayMs: 1_000, times: 1 });
      const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => browser.run(`run ${i}`)));
      const done = runs.filter((run) => run.events.at(-1)?.type === "done");
      const busy = runs.filter((run) => run.body?.code === "RUN_IN_PROGRESS");
      expect(done.length + busy.length).toBe(20);
      expect(done.length).toBe(1);
      expect(fleet.sim.stats().refresh - refreshes).toBe(1);
      expect(fleet.sim.stats().refreshReuse).toBe(0);
      expect((await browser.json("/status")).body?.ok).toBe(true);
      // And the next runs, on every instance in turn, use the refreshed tokens (a second refresh is allowed only
      // because a slow machine may let these tokens reach their own half-life too; a reuse never is).
      for (let i = 0; i < 3; i++) expect((await browser.run(`after ${i}`)).events.at(-1)?.type).toBe("done");
      expect(fleet.sim.stats().refreshReuse).toBe(0);
    });

    it("lets one run at a time per session across instances (10 at once → 1 runs)", async () => {
      const browser = fleet.client();
      await browser.signIn();
      fleet.sim.fault("slow-stream", { delayMs: 100, times: 1 });
      const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => browser.run(`at once ${i}`)));
      fleet.sim.clearFaults();
      expect(runs.filter((run) => run.events.at(-1)?.type === "done")).toHaveLength(1);
      expect(runs.filter((run) => run.body?.code === "RUN_IN_PROGRESS")).toHaveLength(9);
    });

    it("polls upstream at most once per interval per login, however many instances are asked", async () => {
      const browser = fleet.client();
      await browser.json("/session", { method: "POST" });
      const start = await browser.json("/login/start", { method: "POST" });
      expect(typeof start.body?.userCode).toBe("string");
      const polls = fleet.sim.stats().deviceToken;
      const began = Date.now();
      // Three seconds of eager polling through the proxy: every instance is asked many times.
      while (Date.now() - began < 3_000) await Promise.all([browser.json("/status"), browser.json("/status"), browser.json("/status")]);
      const seconds = (Date.now() - began) / 1000;
      const upstream = fleet.sim.stats().deviceToken - polls;
      expect(upstream).toBeGreaterThanOrEqual(1);
      expect(upstream).toBeLessThanOrEqual(Math.ceil(seconds) + 1); // interval 1 s
      expect(fleet.sim.stats()["slow_down" as never] ?? 0).toBe(0);
    });

    it("ends a run on another instance within a second of logout", async () => {
      const browser = fleet.client();
      await browser.signIn();
      fleet.sim.fault("slow-stream", { delayMs: 400 });
      try {
        const running = browser.run("a long one");
        // The run is in flight once upstream has been asked for it.
        const asked = fleet.sim.stats().responses;
        await eventually(async () => fleet.sim.stats().responses > asked, 10_000, "the run reached upstream");
        const loggedOutAt = Date.now();
        expect((await browser.json("/logout", { method: "POST" })).status).toBe(200);
        const run = await running;
        expect(Date.now() - loggedOutAt).toBeLessThan(1_000);
        expect(run.events.at(-1)?.type).not.toBe("done");
      } finally {
        fleet.sim.clearFaults();
      }
    });

    it("holds no token and no session id in any Redis key or value", async () => {
      const browser = fleet.client();
      await browser.signIn();
      await browser.run("something to store");
      const cookieId = (browser.cookie ?? "").split("=")[1]?.split(".")[0] ?? "";
      expect(cookieId).toHaveLength(43);
      let dump = "";
      for (const url of fleet.redisUrls) dump += await dumpServer(url); // each primary of a cluster on its own
      expect(dump.length).toBeGreaterThan(0);
      expect(dump).not.toContain(cookieId);
      for (const token of fleet.sim.issuedTokens()) expect(dump).not.toContain(token);
    });
  });
}

/** Every key of one Redis server with its value, as someone with redis-cli would read them. */
async function dumpServer(url: string): Promise<string> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    let dump = "";
    for await (const keys of redis.scanIterator({ COUNT: 1000 })) {
      for (const key of Array.isArray(keys) ? keys : [keys]) {
        dump += `${key}\n`;
        const type = await redis.type(key);
        if (type === "hash") dump += JSON.stringify(await redis.hGetAll(key));
        else if (type === "string") dump += (await redis.get(key)) ?? "";
        dump += "\n";
      }
    }
    return dump;
  } finally {
    await redis.quit();
  }
}

describe("an instance killed with SIGKILL", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet();
  }, 90_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("mid-login: the login completes on the others", async () => {
    const browser = fleet.client();
    await browser.json("/session", { method: "POST" });
    const start = await browser.json("/login/start", { method: "POST" });
    expect(typeof start.body?.userCode).toBe("string");
    await fleet.kill(fleet.live[0]!);
    expect(fleet.sim.approve(start.body.userCode)).toBe(true);
    await eventually(async () => (await browser.json("/status")).body?.ok === true, 15_000, "signed in on the survivors");
    expect((await browser.run("still here")).events.at(-1)?.type).toBe("done");
  });

  it("mid-run: its lease lapses within seconds and the next run works elsewhere", async () => {
    const browser = fleet.client();
    await browser.signIn();
    fleet.sim.fault("slow-stream", { delayMs: 500 });
    const victim = fleet.live[0]!; // the next request goes to... whichever is next; find who serves the run
    const servedBefore = fleet.live.map((instance) => instance.served);
    const controller = new AbortController();
    const running = browser.run("cut short", controller.signal).catch(() => undefined);
    const asked = fleet.sim.stats().responses;
    await eventually(async () => fleet.sim.stats().responses > asked, 10_000, "the run reached upstream");
    const serving = fleet.live.find((instance, index) => instance.served > (servedBefore[index] ?? 0)) ?? victim;
    await fleet.kill(serving);
    await running;
    fleet.sim.clearFaults();
    const killedAt = Date.now();
    await eventually(async () => (await browser.run("after the crash")).events.at(-1)?.type === "done", 15_000, "a run after the crash");
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  });
});
