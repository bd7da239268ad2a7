import { describe, expect, it } from "vitest";
import { createMemoryCoordination, type Coordination } from "../../../src/backend/sessions/coordination.js";
import { describeCoordination } from "../../support/coordination-conformance.js";
import { withInternals } from "../../../src/backend/sessions/store-internals.js";
import type { SessionStore } from "../../../src/backend/sessions/types.js";
import { readRest, startFleet } from "../../support/fleet.js";
import { until } from "../../support/until.js";
import { createMemorySessionStore, type MemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { describeFleet } from "../../support/fleet-scenarios.js";

// Handlers of one process sharing one memory store share its coordination too.
let shared: MemorySessionStore | undefined;
describeFleet("memory store", {
  size: 2,
  store: (index) => {
    if (index === 0 || shared === undefined) shared = createMemorySessionStore();
    return shared;
  },
});

describeCoordination("memory coordination", async () => ({ coordination: createMemoryCoordination() }));

describe("memory coordination", () => {
  it("gives a hold to one taker until it is released, revoked or lapses", async () => {
    let clock = 1_000;
    const coordination = createMemoryCoordination(() => clock);
    const token = await coordination.acquire("run:a", 100);
    expect(token).not.toBeNull();
    expect(await coordination.acquire("run:a", 100)).toBeNull();
    expect(await coordination.acquire("run:b", 100)).not.toBeNull(); // names are independent
    await coordination.release("run:a", "someone else's token");
    expect(await coordination.acquire("run:a", 100)).toBeNull();
    await coordination.release("run:a", token!);
    const again = await coordination.acquire("run:a", 100);
    expect(again).not.toBeNull();
    clock += 100;
    expect(await coordination.renew("run:a", again!, 100)).toBe(false); // lapsed
    const third = await coordination.acquire("run:a", 100);
    expect(await coordination.renew("run:a", third!, 100)).toBe(true);
    await coordination.revoke("run:a");
    expect(await coordination.renew("run:a", third!, 100)).toBe(false);
  });

  it("lets exactly one of 50 concurrent takers win", async () => {
    const coordination = createMemoryCoordination();
    const results = await Promise.all(Array.from({ length: 50 }, () => coordination.acquire("refresh:x", 1_000)));
    expect(results.filter((token) => token !== null)).toHaveLength(1);
  });
});

describe("a coordination that fails", () => {
  it("fails the run that needed the refresh lock, keeps the tokens, and lets the next run refresh", async () => {
    const store = createMemorySessionStore();
    const fleet = await startFleet({ size: 1, store: () => store, sim: { accessTokenTtlSeconds: 3 }, runner: { refreshMarginMs: 0 } });
    try {
      const user = fleet.browser();
      await user.signIn(fleet.sim);
      fleet.clock.advance(3_100);
      const instance = fleet.instances[0]!;
      const ctx = instance.sessions.contextFor(await user.load(0));
      const broken: Coordination = {
        acquire: async () => {
          throw new Error("store unavailable");
        },
        renew: async () => false,
        release: async () => undefined,
        revoke: async () => undefined,
      };
      ctx.coordination = broken;
      const events = [];
      for await (const event of instance.runner.run(ctx, "hi", new AbortController().signal)) events.push(event);
      expect(events.at(-1)).toMatchObject({ type: "error" });
      expect(fleet.sim.stats().refresh).toBe(0);
      // The failed flight is forgotten: the next run (healthy store) refreshes and answers.
      expect((await user.run("again", 0)).events.at(-1)).toMatchObject({ type: "done" });
      expect(fleet.sim.stats().refresh).toBe(1);
    } finally {
      await fleet.close();
    }
  });
});

describe("a run lease in a store outage", () => {
  it("keeps the run going while the lease may stand, ends it once it surely lapsed, and signs nobody out", async () => {
    const memory = createMemorySessionStore();
    const inner = createMemoryCoordination();
    let failing = false;
    const flaky: Coordination = {
      ...inner,
      renew: async (name, token, ttlMs) => {
        if (failing) throw new Error("store unavailable");
        return inner.renew(name, token, ttlMs);
      },
    };
    const store: SessionStore = withInternals(
      { create: memory.create, get: memory.get, save: memory.save, rotate: memory.rotate, delete: memory.delete },
      { coordination: flaky },
    );
    const ended: string[] = [];
    const fleet = await startFleet({
      size: 1,
      store: () => store,
      sim: { answer: () => "word ".repeat(200) },
      handler: { onEvent: (event) => void (event.type.startsWith("run_") && ended.push(event.type)) },
    });
    try {
      const user = fleet.browser();
      await user.signIn(fleet.sim);
      fleet.sim.fault("slow-stream", { delayMs: 100, times: 1 });
      const response = await user.request("/run/stream", 0, { method: "POST", body: { prompt: "long" } });
      const reader = response.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      failing = true;
      const failedAt = Date.now();
      const text = await readRest(reader);
      const elapsed = Date.now() - failedAt;
      expect(elapsed).toBeGreaterThan(2_000); // the lease (3 s) might still have stood: the run went on
      expect(elapsed).toBeLessThan(5_000);
      expect(text.trim().split("\n").at(-1)).toContain("NOT_AUTHENTICATED");
      failing = false;
      // The lost lease says nothing about the login: once the run's end is written, the session is still signed in.
      await until(() => ended.includes("run_failed"), 3_000, "the run's end persisted");
      expect((await user.load(0)).authenticated).toBe(true);
      expect((await user.json("/status", 0)).body).toMatchObject({ ok: true });
      expect((await user.run("after the outage", 0)).events.at(-1)).toMatchObject({ type: "done" });
    } finally {
      await fleet.close();
    }
  });
});
