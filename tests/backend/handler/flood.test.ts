import { describe, expect, it } from "vitest";
import type { CodexHandler } from "../../../src/backend/core/handler.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { BASE, Browser, makeHarness, sameOrigin } from "../../support/handler-harness.js";

const hex = (value: number): string => value.toString(16);

// One cookie-less same-origin POST /session, sent again and again: it has no body to use up, and
// building 20,000 Requests would cost more than the handler's own work.
const NEW_SESSION = new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() });

/** Counts the statuses of `count` new-session requests, each from the address `addressOf(i)`. */
async function flood(handler: CodexHandler, count: number, addressOf: (i: number) => string): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const { status } = await handler(NEW_SESSION, { clientIp: addressOf(i) });
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  return statuses;
}

describe("an attacker rotating through the addresses of one IPv6 /64", () => {
  it("gets no more new sessions from 20,000 addresses of one /64 than from one address", async () => {
    const { handler, store } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 60, durationSec: 60 } } });
    // Every address differs, in its last 64 bits and in how it is written.
    const spellings = [
      (i: number) => `2001:db8:7:1:${hex(i)}:${hex((i * 7 + 1) & 0xffff)}::1`,
      (i: number) => `2001:0DB8:0007:0001:0000:${hex(i).toUpperCase()}:00AB:0001`,
      (i: number) => `2001:db8:7:1::${hex(i)}%eth0`,
      (i: number) => `[2001:db8:7:1:1::${hex(i)}]:443`,
    ];
    const statuses = await flood(handler, 20_000, (i) => (spellings[i % spellings.length] as (i: number) => string)(i));
    expect(statuses.get(200)).toBe(60);
    expect(statuses.get(429)).toBe(20_000 - 60);
    expect(store.size).toBe(60);
  });

  it("keeps each /64 its own budget: a neighbouring network and an IPv4 client are unaffected", async () => {
    const { handler } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 5, durationSec: 60 } } });
    expect((await flood(handler, 50, (i) => `2001:db8:7:1::${hex(i)}`)).get(200)).toBe(5);
    expect((await flood(handler, 50, (i) => `2001:db8:7:2::${hex(i)}`)).get(200)).toBe(5);
    expect((await flood(handler, 50, (i) => `2001:db8:8:1::${hex(i)}`)).get(200)).toBe(5);
    // IPv4 stays per address: 50 addresses, 50 sessions.
    expect((await flood(handler, 50, (i) => `198.51.100.${i}`)).get(200)).toBe(50);
  });

  it("counts an IPv4 client the same whether the socket reports it plainly or IPv4-mapped", async () => {
    const { handler } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 4, durationSec: 60 } } });
    const forms = ["203.0.113.5", "::ffff:203.0.113.5", "::FFFF:CB00:7105", "203.0.113.5:51000"];
    expect((await flood(handler, 40, (i) => forms[i % forms.length] as string)).get(200)).toBe(4);
  });

  it("keys the /64 read from X-Forwarded-For behind a trusted proxy", async () => {
    const { handler } = makeHarness({ trustProxy: true, rateLimits: { sessionCreatePerIp: { points: 3, durationSec: 60 } } });
    let ok = 0;
    for (let i = 0; i < 30; i++) {
      const headers = sameOrigin({ "x-forwarded-for": `2001:db8:9:9::${hex(i + 1)}` });
      const response = await handler(new Request(`${BASE}/session`, { method: "POST", headers }), { clientIp: "10.0.0.1" });
      if (response.status === 200) ok++;
    }
    expect(ok).toBe(3);
  });

  it("still lets the flooded network's signed-in browser use its session", async () => {
    const { handler, runner } = makeHarness({ rateLimits: { sessionCreatePerIp: { points: 3, durationSec: 60 } } });
    const browser = new Browser(handler, "2001:db8:7:1::aaaa");
    await browser.signIn(runner);
    await flood(handler, 100, (i) => `2001:db8:7:1::${hex(i)}`);
    expect((await browser.get("/status")).status).toBe(200);
  });
});

describe("an attacker with many networks filling the session store", () => {
  it("keeps the memory store at its ceiling, and a signed-in user signed in, through 5,000 new sessions", async () => {
    const sessionStore = createMemorySessionStore({ maxSessions: 200, sweepIntervalMs: 0 });
    const { handler, runner, store } = makeHarness({ sessionStore, rateLimits: {} });
    const user = new Browser(handler, "198.51.100.7");
    await user.signIn(runner);
    // One new /64 per request: every one is under its per-IP budget, so each makes a session.
    const statuses = await flood(handler, 5_000, (i) => `2001:db8:${hex(i)}:1::1`);
    expect(statuses.get(200)).toBe(5_000);
    expect(store.size).toBeLessThanOrEqual(200);
    expect((await user.get("/status")).status).toBe(200);
    const run = await user.post("/run/stream", { prompt: "still here?" });
    expect(run.status).toBe(200);
    await run.text();
  });
});
