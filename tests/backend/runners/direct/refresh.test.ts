import { afterEach, describe, expect, it } from "vitest";
import { directRunner } from "../../../../src/backend/direct.js";
import type { CodexRunner, RunnerContext } from "../../../../src/backend/runners/types.js";
import type { DirectRunnerOptions } from "../../../../src/backend/runners/direct/options.js";
import type { RunEvent } from "../../../../src/contract.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../../../src/simulator/index.js";
import { startHarness, type Harness } from "../../../support/direct-harness.js";
import { skewClock, type SkewClock } from "../../../support/clock.js";

let sim: Simulator | undefined;
let h: Harness | undefined;
afterEach(async () => {
  await sim?.close();
  await h?.close();
  sim = undefined;
  h = undefined;
});

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}
const tokensOf = (ctx: RunnerContext) => (ctx.data.direct as { tokens?: Tokens } | undefined)?.tokens;
const copy = (ctx: RunnerContext, saves?: { count: number }): RunnerContext => ({
  id: ctx.id,
  data: structuredClone(ctx.data),
  save: async () => {
    if (saves) saves.count += 1;
  },
});

async function collect(runner: CodexRunner, ctx: RunnerContext, prompt = "hi"): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of runner.run(ctx, prompt, new AbortController().signal)) events.push(event);
  return events;
}
const last = (events: RunEvent[]) => events[events.length - 1];

/** A simulator, a runner on it, and a signed-in session context. */
async function signedIn(
  simOptions: SimulatorOptions = {},
  runnerOptions: DirectRunnerOptions = {},
): Promise<{ runner: CodexRunner; ctx: RunnerContext; sim: Simulator; clock: SkewClock }> {
  const clock = skewClock(); // shared, so a token expires for both sides when the test moves it on
  sim = await startSimulator({ interval: 1, now: clock.now, ...simOptions });
  const runner = directRunner({
    issuer: sim.url,
    backendBaseUrl: `${sim.url}/backend-api`,
    retryBaseDelayMs: 5,
    now: clock.now,
    ...runnerOptions,
  });
  const ctx: RunnerContext = { id: "s", data: {} };
  const start = await runner.startDeviceLogin(ctx);
  if (start.status !== "started") throw new Error("not started");
  sim.approve(start.userCode);
  const status = await runner.getStatus(ctx);
  if (status.status !== "authenticated") throw new Error(`not signed in: ${status.status}`);
  return { runner, ctx, sim, clock };
}

describe("single-flight refresh", () => {
  it("refreshes once for 20 concurrent runs after expiry, never reusing the rotated token", async () => {
    // Three seconds of life: the refreshed tokens must outlive 20 runs on a loaded machine.
    const { runner, ctx, sim, clock } = await signedIn({ accessTokenTtlSeconds: 3 }, { refreshMarginMs: 0 });
    clock.advance(3_100); // the access token is now expired upstream too
    const saves = { count: 0 };
    // Each request loaded its own copy of the session before any of them saved new tokens.
    const copies = Array.from({ length: 20 }, () => copy(ctx, saves));
    const results = await Promise.all(copies.map((c) => collect(runner, c)));
    for (const events of results) expect(last(events)?.type).toBe("done");
    expect(sim.stats().refresh).toBe(1);
    expect(sim.stats().refreshReuse).toBe(0);
    const refreshTokens = new Set(copies.map((c) => tokensOf(c)?.refreshToken));
    expect(refreshTokens.size).toBe(1);
    expect(refreshTokens.has(tokensOf(ctx)?.refreshToken)).toBe(false);
    expect(saves.count).toBe(20); // each copy saved right after adopting the new tokens
  });

  it("adopts an earlier refresh of the same token for a request that loaded the session before it was saved", async () => {
    const { runner, ctx, sim, clock } = await signedIn({ accessTokenTtlSeconds: 3 }, { refreshMarginMs: 0 });
    clock.advance(3_100);
    const stale = copy(ctx);
    expect(last(await collect(runner, ctx))?.type).toBe("done");
    expect(last(await collect(runner, stale))?.type).toBe("done");
    expect(sim.stats()).toMatchObject({ refresh: 1, refreshReuse: 0 });
  });

  it("refreshes after a 401 and retries the turn once", async () => {
    const bodies: string[] = [];
    const { runner, ctx, sim, clock } = await signedIn({
      accessTokenTtlSeconds: 2,
      onRequest: (info) => info.endpoint === "refresh" && bodies.push(info.body),
    });
    // The session believes its token is fresh; upstream says it expired.
    tokensOf(ctx)!.expiresAt = clock.now() + 3_600_000;
    clock.advance(2_100);
    const events = await collect(runner, ctx);
    expect(last(events)?.type).toBe("done");
    expect(sim.stats().refresh).toBe(1);
    expect(JSON.parse(bodies[0] ?? "{}").refresh_reason).toBe("unauthorized_recovery");
  });
});

describe("proactive refresh", () => {
  it("refreshes tokens that live less than the margin at half-life, not on every run", async () => {
    let clock = Date.now();
    const { runner, ctx, sim } = await signedIn({ accessTokenTtlSeconds: 60 }, { now: () => clock });
    for (let i = 0; i < 3; i++) expect(last(await collect(runner, ctx))?.type).toBe("done");
    expect(sim.stats().refresh).toBe(0);
    clock += 31_000;
    expect(last(await collect(runner, ctx))?.type).toBe("done");
    expect(sim.stats().refresh).toBe(1);
  });
});

describe("refresh failures", () => {
  it("ends the login on a permanent failure (tokens revoked upstream) without retrying", async () => {
    const { runner, ctx, sim } = await signedIn();
    sim.fault("revoke-all");
    const events = await collect(runner, ctx);
    expect(last(events)).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    expect(sim.stats().refresh).toBe(1);
    expect(tokensOf(ctx)).toBeUndefined();
    expect(await runner.getStatus(ctx)).toEqual({ status: "logged_out" });
    expect(last(await collect(runner, ctx))).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    expect(sim.stats().refresh).toBe(1);
  });

  it("treats a reused refresh token (another process rotated it) as permanent", async () => {
    let clock = Date.now();
    const { runner, ctx, sim } = await signedIn({}, { now: () => clock });
    const stale = copy(ctx);
    clock += 2 * 3_600_000;
    expect(last(await collect(runner, ctx))?.type).toBe("done");
    const otherProcess = directRunner({ issuer: sim.url, backendBaseUrl: `${sim.url}/backend-api`, now: () => clock });
    expect(last(await collect(otherProcess, stale))).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    expect(sim.stats()).toMatchObject({ refresh: 2, refreshReuse: 1 });
    expect(tokensOf(stale)).toBeUndefined();
  });

  it("keeps the tokens on a transient failure (5xx, hang, challenge) and succeeds once upstream recovers", async () => {
    let clock = Date.now();
    const { runner, ctx, sim } = await signedIn({}, { now: () => clock, timeouts: { requestMs: 300 } });
    const before = tokensOf(ctx)?.refreshToken;
    clock += 2 * 3_600_000;
    sim.fault("server-error", { endpoint: "refresh", status: 502 });
    expect(last(await collect(runner, ctx))).toMatchObject({ type: "error", code: "UPSTREAM_UNAVAILABLE" });
    expect(tokensOf(ctx)?.refreshToken).toBe(before);
    sim.clearFaults();
    sim.fault("hang", { endpoint: "refresh", times: 1 });
    expect(last(await collect(runner, ctx))).toMatchObject({ type: "error", code: "UPSTREAM_TIMEOUT" });
    expect(tokensOf(ctx)?.refreshToken).toBe(before);
    sim.fault("cloudflare-challenge", { endpoint: "refresh", times: 1 });
    expect(last(await collect(runner, ctx))).toMatchObject({ type: "error", code: "UPSTREAM_BLOCKED" });
    expect(tokensOf(ctx)?.refreshToken).toBe(before);
    expect(last(await collect(runner, ctx))?.type).toBe("done");
    expect(tokensOf(ctx)?.refreshToken).not.toBe(before);
    expect(sim.stats().refreshReuse).toBe(0);
  });

  it("signs the browser out (401 logged_out) after a permanent failure, through the handler", async () => {
    h = await startHarness();
    await h.client.signIn(h.sim);
    h.sim.fault("revoke-all");
    const run = await h.client.run("hello");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    const status = await h.client.json("/status");
    expect(status.status).toBe(401);
    expect(status.body.status).toBe("logged_out");
  });
});
