import { afterEach, describe, expect, it } from "vitest";
import type { CodexAuditEvent } from "../../../../src/backend/core/audit.js";
import { startHarness, type Client, type Harness } from "../../../support/direct-harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every token the simulator issued, and each long piece of it (a JWT's payload or signature alone is a leak too). */
function secretsOf(h: Harness): string[] {
  const secrets = new Set<string>();
  for (const token of h.sim.issuedTokens()) {
    secrets.add(token);
    for (const part of token.split(".")) if (part.length >= 16) secrets.add(part);
  }
  return [...secrets];
}

function assertConfined(h: Harness, clients: Client[], audit: CodexAuditEvent[]): number {
  const secrets = secretsOf(h);
  expect(secrets.length).toBeGreaterThan(6);
  const surfaces = [
    ...clients.flatMap((c) => c.seen.flatMap((s) => [s.headers, s.body])),
    ...h.logs,
    ...audit.map((e) => JSON.stringify(e)),
  ];
  for (const text of surfaces) for (const secret of secrets) expect(text).not.toContain(secret);
  return surfaces.length;
}

describe("token confinement over the directRunner", () => {
  it("lets no issued token reach any body, header, stream event, log line or audit event", async () => {
    const audit: CodexAuditEvent[] = [];
    h = await startHarness(
      { accessTokenTtlSeconds: 2, models: ["m-alpha", "m-beta"] },
      { refreshMarginMs: 0, timeouts: { connectMs: 300, idleMs: 150, requestMs: 300, revokeMs: 200 } },
      { runPolicy: { models: true, instructions: true, history: true }, onEvent: (e) => audit.push(e) },
    );
    const { sim, client } = h;
    const racer = h.newClient();

    // Login paths: disabled, failing, pending, approval race, success.
    await client.json("/session", { method: "POST" });
    sim.fault("device-auth-disabled", { times: 1 });
    await client.json("/login/start", { method: "POST" });
    sim.fault("server-error", { endpoint: "usercode", times: 1 });
    await client.json("/login/start", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    await client.json("/status");
    sim.approve(start.body.userCode);
    h.clock.advance(1_100); // the next upstream poll is due after one interval
    await Promise.all(Array.from({ length: 10 }, () => client.json("/status")));
    expect((await client.json("/status")).body.ok).toBe(true);
    await client.json("/login/start", { method: "POST" }); // already signed in

    // A second user: expired and denied logins.
    await racer.json("/session", { method: "POST" });
    const other = await racer.json("/login/start", { method: "POST" });
    sim.deny(other.body.userCode);
    await racer.json("/status");

    // Runs: success, every backend fault, a bad model, history and instructions.
    await client.run("hello", { history: [{ role: "user", text: "earlier" }], instructions: "Be brief." });
    await client.run("hi", { model: "m-nope" });
    const faults: Array<() => void> = [
      () => sim.fault("usage-limit", { times: 1 }),
      () => sim.fault("usage-not-included", { times: 1 }),
      () => sim.fault("model-not-supported", { times: 1 }),
      () => sim.fault("cloudflare-challenge", { endpoint: "responses", times: 1 }),
      () => sim.fault("cut-stream", { times: 1 }),
      () => sim.fault("malformed-sse", { times: 1 }),
      () => sim.fault("server-error", { endpoint: "responses", times: 3 }),
      () => sim.fault("hang", { endpoint: "responses", times: 1 }),
      () => sim.fault("slow-stream", { delayMs: 400, times: 1 }),
    ];
    const codes: string[] = [];
    for (const inject of faults) {
      inject();
      const last = (await client.run("words for the fault run")).events.at(-1);
      codes.push(last?.type === "error" ? last.code : String(last?.type));
      sim.clearFaults();
    }
    // Every error path was really taken (a confinement test over success paths only proves little).
    expect(codes).toEqual([
      "USAGE_LIMIT",
      "USAGE_NOT_INCLUDED",
      "MODEL_NOT_AVAILABLE",
      "UPSTREAM_BLOCKED",
      "RUN_FAILED",
      "done",
      "UPSTREAM_UNAVAILABLE",
      "UPSTREAM_TIMEOUT",
      "UPSTREAM_TIMEOUT",
    ]);

    // Expiry: a refresh, then a transient and a permanent refresh failure.
    h.clock.advance(2_100);
    await client.run("after expiry");
    h.clock.advance(2_100);
    sim.fault("server-error", { endpoint: "refresh", times: 1 });
    await client.run("refresh fails transiently");
    expect((await client.run("refresh recovered")).events.at(-1)?.type).toBe("done");
    sim.fault("revoke-all");
    expect((await client.run("everything revoked")).events.at(-1)).toMatchObject({ code: "NOT_AUTHENTICATED" });
    await client.json("/status");

    // Sign in again and log out.
    await client.signIn(sim);
    await client.run("last one");
    await client.json("/logout", { method: "POST" });
    await client.json("/status");

    expect(sim.stats().refresh).toBeGreaterThanOrEqual(2);
    expect(sim.stats().refreshReuse).toBe(0);
    const seen = assertConfined(h, [client, racer], audit);
    expect(seen).toBeGreaterThan(40);
  });
});
