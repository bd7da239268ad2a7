import { afterEach, describe, expect, it } from "vitest";
import { directRunner } from "../../../../src/backend/direct.js";
import { CodexError } from "../../../../src/backend/core/errors.js";
import type { RunnerContext } from "../../../../src/backend/runners/types.js";
import { createMemorySessionStore } from "../../../../src/backend/sessions/memory-store.js";
import type { SessionStore } from "../../../../src/backend/sessions/types.js";
import { startSimulator } from "../../../../src/simulator/index.js";
import { startHarness, type Harness } from "../../../support/direct-harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ctxOf = (data: Record<string, unknown> = {}): RunnerContext => ({ id: "s", data });
const copy = (ctx: RunnerContext): RunnerContext => ({ id: ctx.id, data: structuredClone(ctx.data) });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "none";
  } catch (error) {
    return error instanceof CodexError ? error.code : "not a CodexError";
  }
}

describe("device login through the handler", () => {
  it("signs in: start, pending, approval, account from the id_token", async () => {
    h = await startHarness();
    const { client, sim } = h;
    await client.json("/session", { method: "POST" });
    const before = Date.now();
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.body.loginUrl).toBe(`${sim.url}/codex/device`);
    expect(start.body.userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4,5}$/);
    expect(start.body.expiresAt).toBeGreaterThanOrEqual(before + 15 * 60_000);
    expect(start.body.expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    expect((await client.json("/status")).body).toEqual({ ok: false, status: "pending" });
    sim.approve(start.body.userCode, { email: "ann@example.com", name: "Ann", planType: "pro" });
    h.clock.advance(1_100); // the next upstream poll is due after one interval
    const status = await client.json("/status");
    expect(status.body).toEqual({ ok: true, account: { email: "ann@example.com", name: "Ann", planType: "pro" } });
    expect(sim.stats().codeExchange).toBe(1);
  });

  it("answers DEVICE_AUTH_NOT_ENABLED when the upstream says 404", async () => {
    h = await startHarness();
    h.sim.fault("device-auth-disabled");
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect(start.body).toMatchObject({ errorCode: "DEVICE_AUTH_NOT_ENABLED", code: "DEVICE_AUTH_NOT_ENABLED" });
  });

  it("reports a 5xx from the usercode endpoint as UPSTREAM_UNAVAILABLE, not as device auth disabled", async () => {
    h = await startHarness();
    h.sim.fault("server-error", { endpoint: "usercode", status: 503 });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(502);
    expect(start.body.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(start.body.errorCode).toBeUndefined();
  });

  it("reports an unreachable issuer as UPSTREAM_UNAVAILABLE", async () => {
    const gone = await startSimulator();
    const url = gone.url;
    await gone.close();
    const runner = directRunner({ issuer: url, backendBaseUrl: `${url}/backend-api` });
    expect(await codeOf(runner.startDeviceLogin(ctxOf()))).toBe("UPSTREAM_UNAVAILABLE");
  });

  it("gives up on a hung usercode endpoint within the request timeout", async () => {
    h = await startHarness({}, { timeouts: { requestMs: 300 } });
    h.sim.fault("hang", { endpoint: "usercode" });
    const started = Date.now();
    expect(await codeOf(h.runner.startDeviceLogin(ctxOf()))).toBe("UPSTREAM_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("ends the login when the code expires upstream, and when its 15 minutes are over", async () => {
    h = await startHarness();
    await h.client.json("/session", { method: "POST" });
    await h.client.json("/login/start", { method: "POST" });
    h.sim.fault("code-expired");
    expect((await h.client.json("/status")).body).toMatchObject({ ok: false, status: "expired", code: "LOGIN_EXPIRED" });

    let clock = Date.now();
    const runner = directRunner({ issuer: h.sim.url, now: () => clock });
    const ctx = ctxOf();
    await runner.startDeviceLogin(ctx);
    const polls = h.sim.stats().deviceToken;
    clock += 15 * 60_000 + 1;
    expect(await runner.getStatus(ctx)).toEqual({ status: "expired" });
    expect(h.sim.stats().deviceToken).toBe(polls); // decided locally, no poll
  });

  it("ends the login when the user denies it", async () => {
    h = await startHarness();
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    h.sim.deny(start.body.userCode);
    expect((await h.client.json("/status")).body).toMatchObject({ ok: false, status: "denied", code: "LOGIN_DENIED" });
    // The same through the simulator's fault, on a fresh login.
    const other = h.newClient();
    await other.json("/session", { method: "POST" });
    await other.json("/login/start", { method: "POST" });
    h.sim.fault("deny");
    expect((await other.json("/status")).body).toMatchObject({ status: "denied", code: "LOGIN_DENIED" });
  });

  it("reports a Cloudflare challenge on login as UPSTREAM_BLOCKED", async () => {
    h = await startHarness();
    h.sim.fault("cloudflare-challenge", { endpoint: "usercode" });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect(start.body.code).toBe("UPSTREAM_BLOCKED");
    expect(start.body.errorCode).toBeUndefined();
  });
});

describe("poll coalescing", () => {
  it("polls upstream once per interval however many /status calls arrive", async () => {
    h = await startHarness({ interval: 3 });
    await h.client.json("/session", { method: "POST" });
    await h.client.json("/login/start", { method: "POST" });
    const answers = await Promise.all(Array.from({ length: 50 }, () => h!.client.json("/status")));
    expect(answers.every((a) => a.body.status === "pending")).toBe(true);
    for (let i = 0; i < 10; i++) await h.client.json("/status");
    expect(h.sim.stats().deviceToken).toBe(1);
    h.clock.advance(3_100);
    await Promise.all(Array.from({ length: 20 }, () => h!.client.json("/status")));
    expect(h.sim.stats().deviceToken).toBe(2);
  });

  it("honours a poll another instance recorded in the session", async () => {
    h = await startHarness({ interval: 3 });
    const ctx = ctxOf();
    await h.runner.startDeviceLogin(ctx);
    await h.runner.getStatus(ctx);
    const otherInstance = directRunner({ issuer: h.sim.url });
    for (let i = 0; i < 5; i++) expect(await otherInstance.getStatus(copy(ctx))).toEqual({ status: "pending" });
    expect(h.sim.stats().deviceToken).toBe(1);
  });

  it("widens the interval on slow_down (another instance polled too soon)", async () => {
    h = await startHarness({ interval: 1 });
    h.sim.fault("slow-down");
    const first = ctxOf();
    await h.runner.startDeviceLogin(first);
    const stale = copy(first); // loaded before the first poll was recorded
    await h.runner.getStatus(first);
    const other = directRunner({ issuer: h.sim.url, now: h.clock.now }); // a second process: its own in-process state
    expect(await other.getStatus(stale)).toEqual({ status: "pending" });
    expect(h.sim.stats().deviceToken).toBe(2);
    const login = (stale.data.direct as { login: { intervalMs: number } }).login;
    expect(login.intervalMs).toBe(6000);
    h.clock.advance(1_200); // past the upstream's interval, inside the widened one
    await other.getStatus(stale);
    expect(h.sim.stats().deviceToken).toBe(2);
  });
});

describe("approval race", () => {
  it("exchanges the code once when 20 /status calls race at approval, with no logged-out answer", async () => {
    h = await startHarness({ interval: 1 });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    h.sim.approve(start.body.userCode);
    const answers = await Promise.all(Array.from({ length: 20 }, () => h!.client.json("/status")));
    expect(h.sim.stats().codeExchange).toBe(1);
    expect(h.sim.stats().deviceToken).toBe(1);
    for (const a of answers) expect([200, 409]).toContain(a.status);
    expect(answers.some((a) => a.body.ok === true)).toBe(true);
    expect((await h.client.json("/status")).body.ok).toBe(true);
  });

  it("gives every racing caller the same tokens in its own copy of the session", async () => {
    h = await startHarness({ interval: 1 });
    const ctx = ctxOf();
    const start = await h.runner.startDeviceLogin(ctx);
    if (start.status !== "started") throw new Error("not started");
    h.sim.approve(start.userCode);
    const copies = Array.from({ length: 20 }, () => copy(ctx));
    const statuses = await Promise.all(copies.map((c) => h!.runner.getStatus(c)));
    expect(statuses.every((s) => s.status === "authenticated")).toBe(true);
    expect(h.sim.stats().codeExchange).toBe(1);
    const held = copies.map((c) => JSON.stringify((c.data.direct as { tokens: unknown }).tokens));
    expect(new Set(held).size).toBe(1);
    // A late caller holding a copy from before the approval adopts the same result without polling.
    expect(await h.runner.getStatus(copy(ctx))).toMatchObject({ status: "authenticated" });
    expect(h.sim.stats().deviceToken).toBe(1);
  });

  it("retries a code exchange that failed transiently, without polling again", async () => {
    h = await startHarness({ interval: 1 });
    const ctx = ctxOf();
    const start = await h.runner.startDeviceLogin(ctx);
    if (start.status !== "started") throw new Error("not started");
    h.sim.approve(start.userCode);
    h.sim.fault("server-error", { endpoint: "codeExchange", times: 1 });
    expect(await codeOf(h.runner.getStatus(ctx))).toBe("UPSTREAM_UNAVAILABLE");
    expect(await h.runner.getStatus(ctx)).toMatchObject({ status: "authenticated" });
    expect(h.sim.stats()).toMatchObject({ deviceToken: 1, codeExchange: 2 });
  });
});

/** A memory store that counts the writes made through it. */
function countingStore(): { store: SessionStore; writes: () => number } {
  const inner = createMemorySessionStore();
  let writes = 0;
  const store: SessionStore = {
    create: (id, session) => inner.create(id, session),
    get: (id) => inner.get(id),
    save: (id, session) => {
      writes++;
      return inner.save(id, session);
    },
    rotate: (oldId, newId, graceMs) => {
      writes++;
      return inner.rotate(oldId, newId, graceMs);
    },
    delete: (id) => {
      writes++;
      return inner.delete(id);
    },
  };
  return { store, writes: () => writes };
}

describe("a signed-out visitor", () => {
  it("polls /status without a single store write (reading the runner's data creates nothing)", async () => {
    const { store, writes } = countingStore();
    h = await startHarness({}, {}, { sessionStore: store });
    expect((await h.client.json("/session", { method: "POST" })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const status = await h.client.json("/status");
      expect(status.status).toBe(401);
      expect(status.body).toEqual({ ok: false, status: "logged_out", code: "NOT_AUTHENTICATED" });
    }
    expect(writes()).toBe(0);
    expect(h.sim.stats().deviceToken).toBe(0);
  });
});

describe("logout", () => {
  it("revokes upstream and forgets every token", async () => {
    h = await startHarness();
    await h.client.signIn(h.sim);
    const out = await h.client.json("/logout", { method: "POST" });
    expect(out.status).toBe(200);
    expect(h.sim.stats().revoke).toBe(1);
    expect((await h.client.json("/status")).status).toBe(401);
  });

  it("does not wait long for a hung revoke endpoint", async () => {
    h = await startHarness({}, { timeouts: { revokeMs: 200 } });
    const ctx = ctxOf();
    const start = await h.runner.startDeviceLogin(ctx);
    if (start.status !== "started") throw new Error("not started");
    h.sim.approve(start.userCode);
    await h.runner.getStatus(ctx);
    h.sim.fault("hang", { endpoint: "revoke" });
    const began = Date.now();
    await h.runner.logout(ctx);
    expect(Date.now() - began).toBeLessThan(1500);
    expect(ctx.data).toEqual({});
    expect(await h.runner.getStatus(ctx)).toEqual({ status: "logged_out" });
  });
});
