/**
 * cliRunner end to end: the real codex CLI (@openai/codex 0.169.0) against the real
 * simulator, through the real handler. Every test ends with the token-confinement check
 * over everything the browser and the log saw, and with no CLI process left behind.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliRunner } from "../../../../src/backend/cli.js";
import type { SimulatorRequestInfo } from "../../../../src/simulator/index.js";
import { liveProcessCount } from "../../../../src/backend/runners/cli/spawn.js";
import { textOf, type Client } from "../../../support/direct-harness.js";
import { findLeak, startCliHarness, tokenWindows, waitFor, type CliHarness } from "../../../support/cli-harness.js";

let h: CliHarness | undefined;
afterEach(async () => {
  const harness = h;
  h = undefined;
  if (!harness) return;
  await harness.close();
  expect(harness.processes()).toEqual([]);
});

/** No issued token, nor any 16-character piece of one, in any body, header, event or log line. */
function assertConfined(harness: CliHarness, clients: Client[]): void {
  const windows = tokenWindows(harness.sim);
  expect(windows.size).toBeGreaterThan(100);
  const surfaces = [...clients.flatMap((c) => c.seen.flatMap((s) => [s.headers, s.body])), ...harness.logs];
  expect(surfaces.length).toBeGreaterThan(4);
  for (const text of surfaces) expect(findLeak(text, windows)).toBeUndefined();
}

/** POST /session, /login/start; approve the code at the simulator; poll /status until signed in. */
async function signIn(harness: CliHarness, client: Client, email = "ada@example.com") {
  await client.json("/session", { method: "POST" });
  const start = await client.json("/login/start", { method: "POST" });
  expect(start.status).toBe(200);
  expect(harness.sim.pendingCodes()).toContain(start.body.userCode);
  expect(harness.sim.approve(start.body.userCode, { email })).toBe(true);
  return waitFor(
    async () => {
      const status = await client.json("/status");
      return status.body?.ok === true ? status.body : undefined;
    },
    15_000,
    "the login to complete",
  );
}

function sessionFolders(harness: CliHarness): string[] {
  return existsSync(harness.homeRoot) ? readdirSync(harness.homeRoot) : [];
}

describe("cliRunner with the real codex CLI", { timeout: 45_000 }, () => {
  it("signs in with the device code, streams a run with usage, and logs out with a revoke", async () => {
    h = await startCliHarness({ answer: (input) => `Echo from the simulator: ${input.trim()}` });
    const { sim, client } = h;
    await client.json("/session", { method: "POST" });
    expect((await client.json("/status")).status).toBe(401);

    const start = await client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(200);
    expect(start.body.loginUrl).toBe(`${sim.url}/codex/device`);
    expect(start.body.userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4,6}$/);
    expect(start.body.expiresAt).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(sim.pendingCodes()).toEqual([start.body.userCode]);
    // A second start while the first is pending shares the same child and code.
    const again = await client.json("/login/start", { method: "POST" });
    expect(again.body.userCode).toBe(start.body.userCode);
    expect(sim.stats().usercode).toBe(1);
    expect((await client.json("/status")).body).toEqual({ ok: false, status: "pending" });

    sim.approve(start.body.userCode, { email: "ada@example.com", planType: "pro" });
    // Concurrent polls while the CLI finishes: all answer, none breaks the login.
    const polls = await Promise.all([client.json("/status"), client.json("/status"), client.json("/status")]);
    for (const poll of polls) expect([200, 409]).toContain(poll.status);
    const status = await waitFor(
      async () => {
        const s = await client.json("/status");
        return s.body?.ok === true ? s.body : undefined;
      },
      15_000,
      "authenticated",
    );
    expect(status.account).toMatchObject({ email: "ada@example.com", planType: "pro" });
    expect(sim.stats()).toMatchObject({ usercode: 1, codeExchange: 1 });

    // One folder per session, private, holding the CLI's auth.json.
    const folders = sessionFolders(h);
    expect(folders).toHaveLength(1);
    const home = join(h.homeRoot, folders[0]!);
    expect(existsSync(join(home, "auth.json"))).toBe(true);

    const run = await client.run("What is two plus two?");
    expect(run.status).toBe(200);
    expect(textOf(run.events)).toBe("Echo from the simulator: What is two plus two?");
    const done = run.events.at(-1);
    expect(done?.type).toBe("done");
    if (done?.type === "done") {
      expect(done.result.usage?.inputTokens).toBeGreaterThan(0);
      expect(done.result.usage?.outputTokens).toBeGreaterThan(0);
      expect(done.result.text).toBeUndefined();
    }
    expect(sim.stats().responses).toBe(1);
    expect(liveProcessCount()).toBe(0);

    const logout = await client.json("/logout", { method: "POST" });
    expect(logout.status).toBe(200);
    expect(sim.stats().revoke).toBe(1);
    expect(existsSync(home)).toBe(false);
    expect(sessionFolders(h)).toEqual([]);
    await client.json("/session", { method: "POST" });
    expect((await client.json("/status")).status).toBe(401);
    assertConfined(h, [client]);
  });

  it("refuses a login start with DEVICE_AUTH_NOT_ENABLED when the account has device codes off", async () => {
    h = await startCliHarness();
    const { sim, client } = h;
    sim.fault("device-auth-disabled");
    await client.json("/session", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(403);
    expect(start.body).toMatchObject({ code: "DEVICE_AUTH_NOT_ENABLED", errorCode: "DEVICE_AUTH_NOT_ENABLED" });
    expect(start.body.error).not.toMatch(/\/tmp|cli-runner-/);
    expect(liveProcessCount()).toBe(0);
    expect(h.processes()).toEqual([]);
    expect(sessionFolders(h)).toHaveLength(1);
  });

  it("reports a usage limit as USAGE_LIMIT without leaking paths", async () => {
    h = await startCliHarness();
    const { sim, client } = h;
    await signIn(h, client);
    sim.fault("usage-limit", { resetsAt: Math.floor(Date.now() / 1000) + 3600, planType: "plus" });
    const run = await client.run("hello");
    const last = run.events.at(-1);
    expect(last).toMatchObject({ type: "error", code: "USAGE_LIMIT" });
    if (last?.type === "error") {
      expect(last.error).toMatch(/usage limit/i);
      expect(last.error).not.toContain(h.dir);
    }
    expect(sim.stats().responses).toBe(1);
    // Still signed in: a usage limit is not a logout.
    sim.clearFaults();
    expect((await client.run("again")).events.at(-1)?.type).toBe("done");
    sim.fault("usage-not-included", { times: 1 });
    expect((await client.run("plan")).events.at(-1)).toMatchObject({ type: "error", code: "USAGE_NOT_INCLUDED" });
    // The CLI reports a cut stream as an `error` line, retries and succeeds: not a failure.
    sim.fault("cut-stream", { times: 1 });
    const retried = await client.run("cut");
    expect(retried.events.map((e) => e.type)).toEqual(["assistant-text", "done"]);
    expect(textOf(retried.events)).toBe("You said: cut");
    assertConfined(h, [client]);
  });

  it("asks to sign in again once every token is revoked, and the session reads as logged out", async () => {
    h = await startCliHarness();
    const { sim, client } = h;
    await signIn(h, client);
    sim.fault("revoke-all");
    const run = await client.run("hello");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    const status = await client.json("/status");
    expect(status.status).toBe(401);
    expect(status.body).toMatchObject({ status: "logged_out" });
    assertConfined(h, [client]);
  });

  it("kills the exec child at once when the client goes away", async () => {
    h = await startCliHarness();
    const { sim, client } = h;
    await signIn(h, client);
    sim.fault("hang", { endpoint: "responses" });
    const abort = new AbortController();
    const response = await client.request("/run/stream", { method: "POST", body: { prompt: "never answered" }, signal: abort.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const pending = reader.read().catch(() => ({ done: true, value: undefined }));
    // The CLI is running and waiting on the hung upstream.
    await waitFor(() => sim.stats().responses >= 1 && h!.processes().length > 0, 15_000, "the turn to reach the simulator");
    expect(liveProcessCount()).toBeGreaterThan(0);
    const abortedAt = Date.now();
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await pending;
    await waitFor(() => liveProcessCount() === 0 && h!.processes().length === 0, 5_000, "every CLI process to be gone");
    expect(Date.now() - abortedAt).toBeLessThan(4_000);
    // The session can run again: the lock was released.
    sim.clearFaults();
    expect((await client.run("after the abort")).events.at(-1)?.type).toBe("done");
    assertConfined(h, [client]);
  });
});

describe("cliRunner device-login outcomes", { timeout: 45_000 }, () => {
  // Upstream answers 403 for pending, denied and expired codes alike, so the CLI polls on until
  // the code's lifetime is over: the runner ends the login there, whatever happened upstream.
  it("ends a login that outlives its code as expired and kills its child", async () => {
    h = await startCliHarness({}, { timeouts: { loginMs: 1_500, killGraceMs: 500 } });
    const { sim, client } = h;
    await client.json("/session", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.body.expiresAt - Date.now()).toBeLessThanOrEqual(1_500);
    expect(sim.deny(start.body.userCode)).toBe(true);
    expect((await client.json("/status")).body).toEqual({ ok: false, status: "pending" });
    const ended = await waitFor(
      async () => {
        const s = await client.json("/status");
        return s.body?.status !== "pending" ? s : undefined;
      },
      10_000,
      "the login to end",
    );
    expect(ended.body).toMatchObject({ ok: false, status: "expired", code: "LOGIN_EXPIRED" });
    await waitFor(() => liveProcessCount() === 0, 3_000, "the login child to be gone");
    expect(h.processes()).toEqual([]);
    // A new start gets a new child and a new code.
    const next = await client.json("/login/start", { method: "POST" });
    expect(next.body.userCode).not.toBe(start.body.userCode);
    expect(liveProcessCount()).toBe(1);
  });

  it("kills a pending login child on logout and removes the session folder", async () => {
    h = await startCliHarness();
    const { client } = h;
    await client.json("/session", { method: "POST" });
    await client.json("/login/start", { method: "POST" });
    expect(liveProcessCount()).toBe(1);
    expect(sessionFolders(h)).toHaveLength(1);
    await client.json("/logout", { method: "POST" });
    expect(liveProcessCount()).toBe(0);
    expect(h.processes()).toEqual([]);
    expect(sessionFolders(h)).toEqual([]);
  });
});

describe("cliRunner state and limits", { timeout: 45_000 }, () => {
  it("keeps only a folder name in the session, and a restarted runner finds the login in that folder", async () => {
    h = await startCliHarness();
    const { sim } = h;
    const ctx = { id: "session-a", data: {} as Record<string, unknown> };
    const started = await h.runner.startDeviceLogin(ctx);
    expect(started.status).toBe("started");
    if (started.status !== "started") return;
    expect(await h.runner.getStatus(ctx)).toEqual({ status: "pending" });
    sim.approve(started.userCode, { email: "grace@example.com" });
    const status = await waitFor(
      async () => {
        const s = await h!.runner.getStatus(ctx);
        return s.status === "authenticated" ? s : undefined;
      },
      15_000,
      "authenticated",
    );
    expect(status).toMatchObject({ account: { email: "grace@example.com" } });
    expect(ctx.data).toEqual({ cli: { home: expect.stringMatching(/^s-[a-f0-9]{32}$/) } });
    expect(findLeak(JSON.stringify(ctx.data), tokenWindows(sim))).toBeUndefined();

    // Another runner on the same folders (a restart): signed in, and it can run.
    const restarted = cliRunner(h.options);
    try {
      expect(await restarted.getStatus({ id: "session-a", data: structuredClone(ctx.data) })).toMatchObject({
        status: "authenticated",
        account: { email: "grace@example.com" },
      });
      const events = [];
      for await (const event of restarted.run({ id: "session-a", data: ctx.data }, "hello again", new AbortController().signal)) {
        events.push(event);
      }
      expect(events.at(-1)?.type).toBe("done");
      // A login the old process was waiting on cannot finish in the new one: it reads as expired.
      const waiting = { id: "session-b", data: {} as Record<string, unknown> };
      await h.runner.startDeviceLogin(waiting);
      expect(await restarted.getStatus({ id: "session-b", data: structuredClone(waiting.data) })).toEqual({ status: "expired" });
    } finally {
      await restarted.close();
    }
    await h.runner.logout(ctx);
    expect(await h.runner.getStatus(ctx)).toEqual({ status: "logged_out" });
  });

  it("stops a run whose answer stops arriving with UPSTREAM_TIMEOUT, leaving no process", async () => {
    h = await startCliHarness({}, { timeouts: { execIdleMs: 1_500, killGraceMs: 500 } });
    const { sim, client } = h;
    await signIn(h, client);
    sim.fault("hang", { endpoint: "responses" });
    const startedAt = Date.now();
    const run = await client.run("are you there?");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_TIMEOUT" });
    expect(Date.now() - startedAt).toBeLessThan(8_000);
    expect(liveProcessCount()).toBe(0);
    expect(h.processes()).toEqual([]);
    assertConfined(h, [client]);
  });

  it("refuses a run beyond maxConcurrentRuns with RATE_LIMITED", async () => {
    h = await startCliHarness({}, { maxConcurrentRuns: 1 });
    const { sim } = h;
    const first = h.client;
    const second = h.newClient();
    await signIn(h, first, "one@example.com");
    await signIn(h, second, "two@example.com");
    // Finished runs give their slot back (the handler never pulls past `done`).
    expect((await first.run("one")).events.at(-1)?.type).toBe("done");
    expect((await second.run("two")).events.at(-1)?.type).toBe("done");
    sim.fault("hang", { endpoint: "responses" });
    const abort = new AbortController();
    const hanging = await first.request("/run/stream", { method: "POST", body: { prompt: "hangs" }, signal: abort.signal });
    const reader = hanging.body!.getReader();
    const pending = reader.read().catch(() => ({ done: true, value: undefined }));
    await waitFor(() => liveProcessCount() > 0, 10_000, "the first run's process");
    const refused = await second.run("second");
    expect(refused.events.at(-1)).toMatchObject({ type: "error", code: "RATE_LIMITED" });
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await pending;
    await waitFor(() => liveProcessCount() === 0, 5_000, "the first run to stop");
    sim.clearFaults();
    expect((await second.run("now there is room")).events.at(-1)?.type).toBe("done");
    assertConfined(h, [first, second]);
  });
});

describe("cliRunner run options", { timeout: 45_000 }, () => {
  it("passes the chosen model and instructions, folds allowed history into the prompt, and refuses a flag-like model", async () => {
    const seen: SimulatorRequestInfo[] = [];
    h = await startCliHarness({ onRequest: (info) => seen.push(info) });
    const ctx = { id: "session-m", data: {} as Record<string, unknown> };
    const started = await h.runner.startDeviceLogin(ctx);
    if (started.status !== "started") throw new Error("login did not start");
    h.sim.approve(started.userCode);
    await waitFor(async () => (await h!.runner.getStatus(ctx)).status === "authenticated", 15_000, "authenticated");

    const collect = async (options: Parameters<CliHarness["runner"]["run"]>[3]) => {
      const events = [];
      for await (const event of h!.runner.run(ctx, "and now?", new AbortController().signal, options)) events.push(event);
      return events;
    };
    const events = await collect({ model: "gpt-5.5", instructions: "ZEBRA: answer \"briefly\".", history: [{ role: "user", text: "my name is Ada" }, { role: "assistant", text: "hello Ada" }] });
    expect(events.at(-1)).toMatchObject({ type: "done", result: { model: "gpt-5.5" } });
    const turn = seen.filter((r) => r.endpoint === "responses").at(-1);
    expect(JSON.parse(turn?.body ?? "{}").model).toBe("gpt-5.5");
    expect(turn?.body).toContain("my name is Ada");
    expect(turn?.body).toContain("and now?");
    expect(JSON.stringify(JSON.parse(turn?.body ?? "{}").input)).toContain('ZEBRA: answer \\"briefly\\".');

    const before = h.sim.stats().responses;
    expect((await collect({ model: "--dangerously-bypass-approvals-and-sandbox" })).at(-1)).toMatchObject({
      type: "error",
      code: "MODEL_NOT_AVAILABLE",
    });
    expect(h.sim.stats().responses).toBe(before);
    await h.runner.logout(ctx);
  });
});
