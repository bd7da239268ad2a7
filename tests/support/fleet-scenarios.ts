/**
 * What several instances on one store must get right, as one suite every
 * coordination passes: Redis (instances as separate processes would be) and
 * memory (handlers of one process sharing one memory store).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/contract.js";
import type { SessionStore } from "../../src/backend/sessions/types.js";
import { readRest, readRun, startFleet, type Fleet, type FleetOptions } from "./fleet.js";
import { nextTurn, until } from "./until.js";

export interface FleetSuiteOptions {
  /** Instances in the fleet. */
  size: number;
  /** A store per instance (each its own object on one shared backend, or the same object). */
  store: (index: number) => SessionStore;
}

const last = (events: RunEvent[]): RunEvent | undefined => events[events.length - 1];
/** The refresh token the browser's session holds now, read as an instance would. */
const tokensIn = (data: Record<string, unknown>): { refreshToken?: string } | undefined =>
  (data.direct as { tokens?: { refreshToken?: string } } | undefined)?.tokens;

/**
 * @example
 * describeFleet("redis", { size: 3, store: () => createRedisSessionStore({ client, prefix }) });
 */
export function describeFleet(name: string, suite: FleetSuiteOptions): void {
  describe(`${name}: ${suite.size} instances on one store`, () => {
    let fleet: Fleet | undefined;
    afterEach(async () => {
      await fleet?.close();
      fleet = undefined;
    });
    const start = async (extra: Partial<FleetOptions> = {}): Promise<Fleet> => {
      fleet = await startFleet({ size: suite.size, store: suite.store, ...extra });
      return fleet;
    };
    /** Tokens that live three seconds, refreshed only once expired: `clock.advance(3_100)` expires them everywhere. */
    const shortLived: Partial<FleetOptions> = { sim: { accessTokenTtlSeconds: 3 }, runner: { refreshMarginMs: 0 } };

    it("refreshes once when 20 runs of one session, loaded before any refresh, race on every instance", async () => {
      const { sim, clock, instances, browser } = await start(shortLived);
      const user = browser();
      await user.signIn(sim);
      const before = tokensIn((await user.load(0)).data)?.refreshToken;
      clock.advance(3_100);
      // Each run holds its own copy of the session, loaded before anyone refreshed: the run lease is
      // bypassed on purpose, so only the refresh lock stands between them and a reused refresh token.
      const runs = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const instance = instances[i % instances.length]!;
          const ctx = instance.sessions.contextFor(await user.load(i));
          const events: RunEvent[] = [];
          for await (const event of instance.runner.run(ctx, `run ${i}`, new AbortController().signal)) events.push(event);
          return events;
        }),
      );
      for (const events of runs) expect(last(events)).toMatchObject({ type: "done" });
      expect(sim.stats().refresh).toBe(1);
      expect(sim.stats().refreshReuse).toBe(0);
      const after = tokensIn((await user.load(1)).data)?.refreshToken;
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      for (let i = 0; i < instances.length; i++) expect((await user.json("/status", i)).body).toMatchObject({ ok: true });
    });

    it("answers 20 run requests after expiry spread over the instances with one run, one refresh, and nobody signed out", async () => {
      const { sim, clock, instances, browser } = await start(shortLived);
      const user = browser();
      await user.signIn(sim);
      clock.advance(3_100);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => user.request("/run/stream", i, { method: "POST", body: { prompt: "hi" } })));
      const runs = await Promise.all(responses.map(readRun));
      expect(runs.filter((run) => run.status === 200)).toHaveLength(1);
      expect(runs.filter((run) => run.body?.code === "RUN_IN_PROGRESS")).toHaveLength(19);
      expect(last(runs.find((run) => run.status === 200)!.events)).toMatchObject({ type: "done" });
      // Every instance runs on the refreshed tokens afterwards, without refreshing again.
      for (let i = 0; i < instances.length; i++) expect(last((await user.run("again", i)).events)).toMatchObject({ type: "done" });
      expect(sim.stats().refresh).toBe(1);
      expect(sim.stats().refreshReuse).toBe(0);
      for (let i = 0; i < instances.length; i++) expect((await user.json("/status", i)).body).toMatchObject({ ok: true });
    });

    it("lets exactly one of 10 concurrent runs on one session run, whichever instances they reach", async () => {
      const { sim, browser } = await start();
      const user = browser();
      await user.signIn(sim);
      // Bodies are read only after every answer is in: the winner's lease is held all that time.
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => user.request("/run/stream", i, { method: "POST", body: { prompt: "hi" } })));
      const runs = await Promise.all(responses.map(readRun));
      expect(runs.filter((run) => run.status === 200)).toHaveLength(1);
      const refused = runs.filter((run) => run.status !== 200);
      expect(refused).toHaveLength(9);
      for (const run of refused) expect(run).toMatchObject({ status: 429, body: { code: "RUN_IN_PROGRESS" } });
      // Ended runs release the lease: the next run works on any instance.
      expect(last((await user.run("next", 1)).events)).toMatchObject({ type: "done" });
    });

    it("ends a run streaming on one instance within a second of logout on another", async () => {
      const { sim, browser } = await start({ sim: { answer: () => "word ".repeat(200) } });
      const user = browser();
      await user.signIn(sim);
      sim.fault("slow-stream", { delayMs: 100, times: 1 });
      const streaming = await user.request("/run/stream", 1, { method: "POST", body: { prompt: "long" } });
      expect(streaming.status).toBe(200);
      const reader = streaming.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      const cookie = user.cookie;
      expect((await user.json("/logout", 0, { method: "POST" })).status).toBe(200);
      const loggedOutAt = Date.now();
      const text = await readRest(reader);
      expect(Date.now() - loggedOutAt).toBeLessThan(1_000);
      const lines = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as RunEvent);
      expect(last(lines)).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
      // The run's end wrote nothing back: the session stays gone.
      user.cookie = cookie;
      expect((await user.json("/status", 1)).status).toBe(401);
    });

    it("also ends a run another instance started while the logout was still revoking upstream", async () => {
      const { sim, browser } = await start({ sim: { answer: () => "word ".repeat(200) }, runner: { timeouts: { revokeMs: 800 } } });
      const user = browser();
      await user.signIn(sim);
      sim.fault("hang", { endpoint: "revoke", times: 1 }); // the upstream revoke takes its whole deadline
      const loggingOut = user.json("/logout", 0, { method: "POST" });
      await until(() => sim.stats().revoke === 1, 3_000, "the logout's upstream revoke under way");
      sim.fault("slow-stream", { delayMs: 100, times: 1 });
      const streaming = await user.request("/run/stream", 1, { method: "POST", body: { prompt: "slipped in" } });
      expect(streaming.status).toBe(200); // the session still existed: the run started
      const reader = streaming.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      expect((await loggingOut).status).toBe(200);
      const loggedOutAt = Date.now();
      const text = await readRest(reader);
      expect(Date.now() - loggedOutAt).toBeLessThan(1_000);
      expect(text.trim().split("\n").at(-1)).toContain("NOT_AUTHENTICATED");
    });

    it("never lets a permanent refresh failure seen on stale tokens clear the newer ones another instance saved", async () => {
      const { sim, clock, instances, browser } = await start(shortLived);
      const user = browser();
      await user.signIn(sim);
      const stale = await user.load(1); // instance 1 loaded the session before the refresh
      clock.advance(3_100);
      expect(last((await user.run("refreshes", 0)).events)).toMatchObject({ type: "done" });
      expect(sim.stats().refresh).toBe(1);
      // An instance without the refresh lock (an older version in a rolling deploy) sends the rotated token.
      const ctx = instances[1]!.sessions.contextFor(stale);
      ctx.coordination = undefined;
      const events: RunEvent[] = [];
      for await (const event of instances[1]!.runner.run(ctx, "stale", new AbortController().signal)) events.push(event);
      expect(sim.stats().refreshReuse).toBe(1); // upstream saw the reuse…
      expect(last(events)).toMatchObject({ type: "done" }); // …yet the run went on with the newer tokens from the store
      expect((await user.json("/status", 2)).body).toMatchObject({ ok: true });
      expect(last((await user.run("still signed in", 2)).events)).toMatchObject({ type: "done" });
    });

    it("polls upstream at most once per interval for a login, however many instances are asked", async () => {
      const { sim, browser } = await start();
      const user = browser();
      await user.json("/session", 0, { method: "POST" });
      expect((await user.json("/login/start", 0, { method: "POST" })).status).toBe(200);
      const polled = () => sim.stats().deviceToken;
      // 30 status calls at one instant, spread over the instances: one upstream poll.
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => user.json("/status", i)));
      for (const answer of burst) expect(answer.body).toMatchObject({ ok: false, status: "pending" });
      expect(polled()).toBe(1);
      // Then keep asking for a while (interval: 1 s): never more than one poll per interval.
      const startedAt = Date.now();
      let round = 0;
      while (Date.now() - startedAt < 2_500) {
        await user.json("/status", round++);
        await nextTurn();
      }
      const elapsed = Date.now() - startedAt;
      expect(polled()).toBeLessThanOrEqual(1 + Math.ceil(elapsed / 1_000));
      expect(polled()).toBeGreaterThanOrEqual(2); // it did poll again once an interval passed
    });

    it("keeps a stale write from overwriting a newer one: the loser merges its own changes over it, or gives up once the session is gone", async () => {
      const { sim, browser } = await start();
      const user = browser();
      await user.signIn(sim);
      const onA = await user.load(0);
      const onB = await user.load(1);
      const tokensBefore = JSON.stringify(tokensIn(onA.data));
      // A writes first: its tokens change (as after a refresh) and it notes something of its own.
      const direct = onA.data.direct as Record<string, unknown>;
      direct.tokens = { ...(direct.tokens as object), refreshToken: "rt-newer" };
      onA.data.noteA = { by: "A" };
      expect(await fleet!.instances[0]!.sessions.persist(onA)).toBe(true);
      // B still holds the old version: it clears the tokens (a failure it saw on them) and notes something else.
      delete onB.data.direct;
      onB.data.noteB = { by: "B" };
      expect(await fleet!.instances[1]!.sessions.persist(onB)).toBe(true);
      const stored = await user.load(2);
      expect(tokensIn(stored.data)?.refreshToken).toBe("rt-newer"); // A's newer tokens stand
      expect(stored.authenticated).toBe(true);
      expect(stored.data.noteA).toEqual({ by: "A" });
      expect(stored.data.noteB).toEqual({ by: "B" }); // B's own change was reapplied
      expect(JSON.stringify(tokensIn(stored.data))).not.toBe(tokensBefore);
      // Once the session is gone (logout elsewhere), a late write gives up and resurrects nothing.
      const late = await user.load(0);
      late.data.noteC = { by: "late" };
      expect((await user.json("/logout", 2, { method: "POST" })).status).toBe(200);
      expect(await fleet!.instances[0]!.sessions.persist(late)).toBe(false);
      expect(await fleet!.instances[0]!.store.get(late.id)).toEqual({ state: "missing" });
    });
  });
}
