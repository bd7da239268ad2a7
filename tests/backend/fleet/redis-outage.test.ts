/**
 * Three backend processes on one Redis, behind the round-robin proxy, while
 * Redis is killed (SIGKILL) and restarted, or frozen (SIGSTOP) and thawed
 * (SIGCONT): every route on every instance answers 503 STORE_UNAVAILABLE with
 * Retry-After within the store's deadline (1 s by default), never a 500 or a
 * hang, and the fleet serves again by itself once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFleet, type Fleet, type FleetClient } from "../../support/process-fleet.js";
import { eventually } from "../../support/until.js";

/** The default deadline (1 s) plus room for a loaded machine; a hang would take the test's whole timeout. */
const ANSWER_WITHIN_MS = 2_500;

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet();
}, 90_000);
afterAll(async () => {
  fleet.redis?.child.kill("SIGCONT"); // never leave a frozen server behind
  await fleet?.close();
});

/** Every route, three times each so the proxy sends each to every instance: all 503 STORE_UNAVAILABLE, in time. */
async function expectEveryRouteUnavailable(signedIn: FleetClient, fresh: FleetClient): Promise<void> {
  const calls: Array<[string, () => Promise<Response>]> = [
    ["POST /session", () => fresh.request("/session", { method: "POST" })],
    ["GET /status", () => signedIn.request("/status")],
    ["POST /login/start", () => signedIn.request("/login/start", { method: "POST" })],
    ["POST /run/stream", () => signedIn.request("/run/stream", { method: "POST", body: { prompt: "while Redis is away" } })],
    ["POST /logout", () => signedIn.request("/logout", { method: "POST" })],
  ];
  for (const [name, call] of calls) {
    for (let i = 0; i < fleet.live.length; i++) {
      const began = Date.now();
      const response = await call();
      const body = (await response.json()) as { code?: string };
      expect(Date.now() - began, name).toBeLessThan(ANSWER_WITHIN_MS);
      expect([response.status, body.code], name).toEqual([503, "STORE_UNAVAILABLE"]);
      expect(Number(response.headers.get("retry-after")), name).toBeGreaterThan(0);
      expect(response.headers.get("set-cookie"), name).toBeNull();
    }
  }
}

describe("three instances on one Redis when Redis goes away", () => {
  it("Redis killed: 503 on every route of every instance in time; restarted (empty): sign-in and runs work again", async () => {
    const signedIn = fleet.client();
    await signedIn.signIn();
    const exited = new Promise((resolve) => fleet.redis!.child.once("exit", resolve));
    fleet.redis!.child.kill("SIGKILL");
    await exited;
    await expectEveryRouteUnavailable(signedIn, fleet.client());
    expect(fleet.instances.every((instance) => instance.process.exitCode === null)).toBe(true); // nobody crashed

    await fleet.restartRedis();
    await fleet.ready(); // every instance's client has reconnected by itself (node-redis retries); nobody restarted them
    const again = fleet.client();
    await again.signIn();
    const run = await again.run("Redis is back");
    expect(run.events.at(-1)?.type, JSON.stringify(run.body)).toBe("done");
  }, 90_000);

  it("Redis frozen: 503 on every route of every instance in time; thawed: the same signed-in session carries on", async () => {
    const signedIn = fleet.client();
    await signedIn.signIn();
    fleet.redis!.child.kill("SIGSTOP");
    try {
      await expectEveryRouteUnavailable(signedIn, fleet.client());
    } finally {
      fleet.redis!.child.kill("SIGCONT");
    }
    await eventually(async () => (await signedIn.json("/status")).body?.ok === true, 15_000, "the session signed in after SIGCONT");
    expect((await signedIn.run("thawed")).events.at(-1)?.type).toBe("done");
    expect(fleet.instances.every((instance) => instance.process.exitCode === null)).toBe(true);
  }, 90_000);
});
