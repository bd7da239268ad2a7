/**
 * appServerRunner against the real `codex app-server` and the simulator, through the
 * real handler: usage limits, aborts, crashes, the process pool, several accounts,
 * and token confinement. Every test ends with no process of its harness left.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../../src/contract.js";
import { appServerRunner } from "../../../../src/backend/app-server.js";
import { Client, handlerLoggingTo, textOf } from "../../../support/direct-harness.js";
import { findLeak, tokenWindows, waitFor } from "../../../support/cli-harness.js";
import { signIn, startAppServerHarness, type AppServerHarness } from "../../../support/app-server-harness.js";

let h: AppServerHarness | undefined;
afterEach(async () => {
  const harness = h;
  h = undefined;
  if (!harness) return;
  await harness.close();
  expect(harness.processes()).toEqual([]);
});

/** Every file under `root`, recursively (no symlinks followed). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile()) out.push(path);
  }
  return out;
}

/** Start a run and read its NDJSON events as they come; `stop()` aborts the request. */
function streamRun(client: Client, prompt: string) {
  const controller = new AbortController();
  const events: RunEvent[] = [];
  let ended = false;
  const done = (async () => {
    const response = await client.request("/run/stream", { method: "POST", body: { prompt }, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)) as RunEvent);
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf("\n");
        }
      }
    } catch {
      // Aborted by the test.
    } finally {
      ended = true;
    }
  })();
  return { events, done, stop: () => controller.abort(), ended: () => ended };
}

/**
 * A run whose answer streams `delayMs` per delta, read until its first delta. The fault stays on for every
 * backend answer (the binary may call the backend more than once per turn): clear it once the run is over.
 */
async function slowRunUnderWay(harness: AppServerHarness, delayMs: number, prompt: string) {
  harness.sim.fault("slow-stream", { delayMs });
  const run = streamRun(harness.client, prompt);
  await waitFor(() => run.events.some((e) => e.type === "assistant-text"), 15_000, "the first delta");
  return run;
}

describe("appServerRunner: runs", { timeout: 60_000 }, () => {
  it("a usage limit is USAGE_LIMIT with resetsAt and plan from the account's rate-limit read", async () => {
    h = await startAppServerHarness();
    await signIn(h, h.client, { email: "ada@example.com", planType: "plus" });
    h.sim.fault("usage-limit", { times: 1, resetsAt: 1_900_000_000, planType: "pro" });
    const run = await h.client.run("hi");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "USAGE_LIMIT", resetsAt: 1_900_000_000_000, planType: "pro" });
    expect(h.sim.stats().usage).toBeGreaterThanOrEqual(1);
    // The limit was one turn's: the next one runs on the same process and thread.
    const next = await h.client.run("again");
    expect(next.events.at(-1)).toMatchObject({ type: "done" });
    expect(h.runner.processCount()).toBe(1);
  });

  it("upstream failures become typed codes: plan without Codex, model not supported, revoked tokens, a Cloudflare challenge", async () => {
    h = await startAppServerHarness();
    await signIn(h, h.client, { email: "ada@example.com", planType: "free" });
    const cases = [
      ["usage-not-included", {}, { code: "USAGE_NOT_INCLUDED", planType: "free" }],
      ["model-not-supported", {}, { code: "MODEL_NOT_AVAILABLE", error: expect.stringMatching(/^The '.+' model is not supported/) }],
      ["cloudflare-challenge", { endpoint: "responses" }, { code: "UPSTREAM_BLOCKED" }],
      // Last: it ends the sign-in.
      ["revoke-all", {}, { code: "NOT_AUTHENTICATED" }],
    ] as const;
    for (const [fault, options, expected] of cases) {
      h.sim.clearFaults();
      h.sim.fault(fault, options as never);
      const run = await h.client.run(`hi (${fault})`);
      expect(run.events.at(-1), fault).toMatchObject({ type: "error", ...expected });
    }
    expect((await h.client.json("/status")).body).toMatchObject({ ok: false });
  });

  it("aborting mid-turn interrupts the turn; the process is free for the next run at once", async () => {
    h = await startAppServerHarness();
    await signIn(h, h.client);
    const run = await slowRunUnderWay(h, 150, "one two three four five six seven eight nine ten eleven twelve");
    run.stop();
    await run.done;
    h.sim.clearFaults();
    expect(run.events.some((e) => e.type === "done")).toBe(false);
    // Not busy: a new run is accepted and answered whole, by the same single process.
    const pids = h.appServers();
    expect(pids).toHaveLength(1);
    const next = await waitFor(async () => {
      const attempt = await h!.client.run("after the abort");
      return attempt.events.at(-1)?.type === "done" ? attempt : undefined;
    }, 10_000, "a run after the abort");
    expect(textOf(next.events)).toBe("You said: after the abort");
    expect(h.appServers()).toEqual(pids);
  });

  it("a killed app-server ends its run with RUN_FAILED; the next run restarts it from the folder, still signed in", async () => {
    h = await startAppServerHarness();
    await signIn(h, h.client);
    const run = await slowRunUnderWay(h, 200, "one two three four five six seven eight nine ten");
    const [pid] = h.appServers();
    process.kill(pid!, "SIGKILL");
    await run.done;
    h.sim.clearFaults();
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "RUN_FAILED" });
    const next = await h.client.run("after the crash");
    expect(next.events.at(-1)).toMatchObject({ type: "done" });
    expect(textOf(next.events)).toBe("You said: after the crash");
    const after = h.appServers();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);
    expect((await h.client.json("/status")).body.ok).toBe(true);
  });

  it("an idle process is shut down; /status answers without starting one; the next run starts it again", async () => {
    h = await startAppServerHarness({}, { idleShutdownMs: 300 });
    await signIn(h, h.client, { email: "idle@example.com" });
    expect((await h.client.run("first")).events.at(-1)).toMatchObject({ type: "done" });
    await waitFor(() => h!.runner.processCount() === 0 && h!.appServers().length === 0, 10_000, "the idle shutdown");
    for (let i = 0; i < 20; i++) expect((await h.client.json("/status")).body).toMatchObject({ ok: true, account: { email: "idle@example.com" } });
    expect(h.runner.processCount()).toBe(0);
    expect(h.appServers()).toEqual([]);
    const again = await h.client.run("second");
    expect(textOf(again.events)).toBe("You said: second");
  });

  it("logout during a turn ends the stream, stops the process and removes the folder", async () => {
    h = await startAppServerHarness();
    await signIn(h, h.client);
    const [folder] = readdirSync(h.homeRoot);
    const run = await slowRunUnderWay(h, 300, "one two three four five six seven eight nine ten");
    const started = Date.now();
    expect((await h.client.json("/logout", { method: "POST" })).status).toBe(200);
    await run.done;
    h.sim.clearFaults();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(run.events.some((e) => e.type === "done")).toBe(false);
    expect(existsSync(join(h.homeRoot, folder!))).toBe(false);
    await waitFor(() => h!.appServers().length === 0, 5_000, "the process to go");
    expect(h.runner.processCount()).toBe(0);
  });
});

describe("appServerRunner: conversations", { timeout: 60_000 }, () => {
  /** The user messages of each Responses call the binary made. */
  function userTexts(bodies: string[]): string[][] {
    return bodies.map((body) => {
      const input = (JSON.parse(body) as { input: Array<{ role?: string; content?: Array<{ text?: string }> }> }).input;
      return input.filter((item) => item.role === "user").map((item) => (item.content ?? []).map((c) => c.text ?? "").join(""));
    });
  }

  it("the thread is the conversation; with history, a new chat or another branch starts a new thread with the transcript", async () => {
    const bodies: string[] = [];
    h = await startAppServerHarness(
      { onRequest: (info) => void (info.endpoint === "responses" && bodies.push(info.body)) },
      {},
      { runPolicy: { history: true, instructions: true } },
    );
    await signIn(h, h.client);
    const last = () => userTexts(bodies).at(-1)!.filter((text) => !text.startsWith("<"));
    await h.client.run("alpha");
    expect(last()).toEqual(["alpha"]);
    // Same conversation one turn on (history has as many user messages as the thread has turns): the thread goes on.
    await h.client.run("beta", { history: [{ role: "user", text: "alpha" }, { role: "assistant", text: "You said: alpha" }] });
    expect(last()).toEqual(["alpha", "beta"]);
    // A new chat (empty history): a new thread; nothing of alpha or beta reaches the model.
    await h.client.run("gamma", { history: [] });
    expect(last()).toEqual(["gamma"]);
    // Another branch: a new thread whose one prompt carries the app's transcript.
    await h.client.run("delta", { history: [{ role: "user", text: "other" }, { role: "assistant", text: "reply" }, { role: "user", text: "more" }, { role: "assistant", text: "ok" }] });
    const branch = last();
    expect(branch).toHaveLength(1);
    expect(branch[0]).toContain("Earlier in this conversation");
    expect(branch[0]).toContain("User: other");
    expect(branch[0]).not.toContain("gamma");
    // New instructions: a new thread.
    const before = bodies.length;
    await h.client.run("epsilon", { instructions: "Answer tersely." });
    expect(bodies.length).toBe(before + 1);
    expect(last()).toEqual(["epsilon"]);
  });
});

describe("appServerRunner: a consumer that stops pulling", { timeout: 60_000 }, () => {
  it("a consumer that breaks out of run() leaves the session usable: the next run gets only its own answer, at once", async () => {
    h = await startAppServerHarness();
    const { runner, sim } = h;
    const ctx = { id: "consumer-test", data: {} as Record<string, unknown> };
    const started = await runner.startDeviceLogin(ctx);
    if (started.status !== "started") throw new Error("expected a device code");
    expect(sim.approve(started.userCode)).toBe(true);
    await waitFor(async () => (await runner.getStatus(ctx)).status === "authenticated", 15_000, "sign-in");
    // An answer that would take 30 s more: the runner interrupts it when the iterator is closed.
    sim.fault("slow-stream", { delayMs: 1_000 }); // every answer: the binary may make more than one call per turn
    const signal = new AbortController().signal;
    const long = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
    for await (const event of runner.run(ctx, long, signal)) {
      expect(event.type).toBe("assistant-text");
      break; // return() while the turn goes on upstream
    }
    sim.clearFaults();
    const started2 = Date.now();
    const events = [];
    for await (const event of runner.run(ctx, "fourteen", signal)) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: "done" });
    expect(textOf(events)).toBe("You said: fourteen");
    expect(Date.now() - started2).toBeLessThan(10_000);
    await runner.logout(ctx);
  });
});

describe("appServerRunner: processes that will not start, and abandoned folders", { timeout: 60_000 }, () => {
  it("a binary that dies at start is tried twice, then the login answers UPSTREAM_UNAVAILABLE (no crash, no token)", async () => {
    h = await startAppServerHarness();
    const counter = join(h.dir, "starts");
    const broken = join(h.dir, "broken-codex.sh");
    writeFileSync(broken, `#!/bin/sh\necho started >> "${counter}"\necho "fatal: cannot start" >&2\nexit 3\n`);
    chmodSync(broken, 0o700);
    const runner = appServerRunner({ codexPath: broken, homeRoot: h.homeRoot, timeouts: { startMs: 5_000 } });
    const client = new Client(handlerLoggingTo(runner, "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x").handler);
    try {
      await client.json("/session", { method: "POST" });
      const start = await client.json("/login/start", { method: "POST" });
      expect(start.status).toBeGreaterThanOrEqual(500);
      expect(start.body).toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
      expect(readFileSync(counter, "utf8").trim().split("\n")).toHaveLength(2);
      expect(runner.processCount()).toBe(0);
    } finally {
      await runner.close();
    }
  });

  it("the sweep removes the folder of a session that expired without a logout once its process is gone", async () => {
    let now = Date.now();
    h = await startAppServerHarness({}, { idleShutdownMs: 1_500, maxSessionAgeMs: 60_000, sweepIntervalMs: 0, now: () => now });
    await signIn(h, h.client);
    const [folder] = readdirSync(h.homeRoot);
    now += 120_000;
    // Its process still runs (within its idle time): the folder stays.
    expect(h.runner.processCount()).toBe(1);
    expect(await h.runner.sweep()).toBe(0);
    await waitFor(() => h!.runner.processCount() === 0, 10_000, "the idle shutdown");
    expect(await h.runner.sweep()).toBe(1);
    expect(existsSync(join(h.homeRoot, folder!))).toBe(false);
  });
});

describe("appServerRunner: logins", { timeout: 60_000 }, () => {
  it("Start over cancels the pending login: the first code no longer signs the session in", async () => {
    h = await startAppServerHarness();
    await h.client.json("/session", { method: "POST" });
    const first = await h.client.json("/login/start", { method: "POST" });
    const second = await h.client.json("/login/start", { method: "POST" });
    expect(second.status).toBe(200);
    expect(second.body.userCode).not.toBe(first.body.userCode);
    expect(h.sim.approve(first.body.userCode, { email: "old@example.com" })).toBe(true);
    // The cancelled login stops polling: the approval of its code is never picked up.
    const pollsBefore = h.sim.stats().deviceToken;
    await waitFor(() => h!.sim.stats().deviceToken > pollsBefore + 2, 10_000, "the new login to poll");
    expect((await h.client.json("/status")).body).toMatchObject({ ok: false, status: "pending" });
    expect(h.sim.approve(second.body.userCode, { email: "new@example.com" })).toBe(true);
    const status = await waitFor(async () => {
      const s = await h!.client.json("/status");
      return s.body.ok ? s.body : undefined;
    }, 15_000, "sign-in with the second code");
    expect(status.account.email).toBe("new@example.com");
    expect(h.appServers()).toHaveLength(1);
  });

  it("device code login not enabled → 403 DEVICE_AUTH_NOT_ENABLED", async () => {
    h = await startAppServerHarness();
    h.sim.fault("device-auth-disabled", { times: 1 });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(403);
    expect(start.body).toMatchObject({ code: "DEVICE_AUTH_NOT_ENABLED" });
  });

  // Upstream answers a denied code's poll as it answers a pending one (403), so the app-server keeps
  // polling a denied login: it ends when its code's lifetime does.
  it("a login that is not completed in time ends as LOGIN_EXPIRED and lets go of its process", async () => {
    h = await startAppServerHarness({}, { timeouts: { loginMs: 1_500 }, idleShutdownMs: 200 });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect(h.sim.deny(start.body.userCode)).toBe(true);
    expect((await h.client.json("/status")).body).toMatchObject({ ok: false, status: "pending" });
    const status = await waitFor(async () => {
      const s = await h!.client.json("/status");
      return s.body.status !== "pending" ? s : undefined;
    }, 15_000, "the login to end");
    expect(status.body).toMatchObject({ ok: false, code: "LOGIN_EXPIRED" });
    await waitFor(() => h!.runner.processCount() === 0 && h!.appServers().length === 0, 10_000, "the idle shutdown");
  });
});

describe("appServerRunner: many sessions", { timeout: 120_000 }, () => {
  it("maxProcesses holds under 20 signed-in sessions: never more processes, busy ones refuse with RATE_LIMITED, all get their answer", async () => {
    h = await startAppServerHarness({}, { maxProcesses: 3 });
    const harness = h;
    const clients = Array.from({ length: 20 }, () => harness.newClient());
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, harness.appServers().length)), 20);
    try {
      for (const [i, client] of clients.entries()) await signIn(harness, client, { email: `user${i}@example.com` });
      harness.sim.fault("slow-stream", { delayMs: 30 });
      const first = await Promise.all(clients.map((client, i) => client.run(`hello ${i}`)));
      const done = first.filter((r) => r.events.at(-1)?.type === "done").length;
      const refused = first.filter((r) => r.events.at(-1)?.type === "error" && (r.events.at(-1) as { code: string }).code === "RATE_LIMITED").length;
      expect(done).toBeGreaterThanOrEqual(3);
      expect(done + refused).toBe(20);
      // One after another, every session gets its answer (an idle process makes room for the next).
      for (const [i, client] of clients.entries()) {
        const run = await client.run(`again ${i}`);
        expect(textOf(run.events)).toBe(`You said: again ${i}`);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    expect(harness.runner.processCount()).toBeLessThanOrEqual(3);
  });

  it("the process's stderr reaches the logger only redacted: no token, no session folder, even at trace level", async () => {
    h = await startAppServerHarness({}, { env: { RUST_LOG: "trace" } });
    const harness = h;
    await signIn(harness, harness.client);
    await harness.client.run("a traced run");
    harness.sim.fault("usage-limit", { times: 1 });
    await harness.client.run("a traced limit");
    const stderrLines = harness.logs.filter((line) => line.includes("APP_SERVER_STDERR"));
    expect(stderrLines.length).toBeGreaterThan(20);
    // Trace lines name the session folder: they arrive with it replaced.
    expect(stderrLines.some((line) => line.includes("[path]"))).toBe(true);
    const windows = tokenWindows(harness.sim);
    for (const line of stderrLines) {
      expect(findLeak(line, windows)).toBeUndefined();
      expect(line).not.toContain(harness.homeRoot);
    }
  });

  it("two sessions signed in as different accounts each see only their own", async () => {
    h = await startAppServerHarness({ answer: (input, context) => `${context.account.email} asked: ${input.trim()}` });
    const ada = h.newClient();
    const bob = h.newClient();
    expect((await signIn(h, ada, { email: "ada@example.com", planType: "plus" })).account).toMatchObject({ email: "ada@example.com", planType: "plus" });
    expect((await signIn(h, bob, { email: "bob@example.com", planType: "pro" })).account).toMatchObject({ email: "bob@example.com", planType: "pro" });
    const [a, b] = await Promise.all([ada.run("mine?"), bob.run("mine?")]);
    expect(textOf(a.events)).toBe("ada@example.com asked: mine?");
    expect(textOf(b.events)).toBe("bob@example.com asked: mine?");
    expect((await ada.json("/status")).body.account.email).toBe("ada@example.com");
    expect((await bob.json("/status")).body.account.email).toBe("bob@example.com");
    expect(readdirSync(h.homeRoot)).toHaveLength(2);
  });

  it("no issued token in any response, event, log line, or file outside the session's home; the agent's own printing of one is scrubbed", async () => {
    let leak = "";
    h = await startAppServerHarness({ answer: () => `Here it is: ${leak} (end)` });
    const harness = h;
    await signIn(harness, harness.client);
    const [folder] = readdirSync(harness.homeRoot);
    const home = join(harness.homeRoot, folder!);
    const auth = JSON.parse(readFileSync(join(home, "auth.json"), "utf8")) as { tokens: { access_token: string } };
    // A hostile (or confused) agent prints the session's own access token (tests/…/scrub.test.ts cuts it across deltas).
    leak = auth.tokens.access_token;
    const run = await harness.client.run("print your token");
    expect(run.events.filter((e) => e.type === "assistant-text").length).toBeGreaterThan(3);
    expect(textOf(run.events)).toBe("Here it is: [redacted] (end)");
    harness.sim.fault("usage-limit", { times: 1 });
    await harness.client.run("limit");
    const windows = tokenWindows(harness.sim);
    expect(windows.size).toBeGreaterThan(100);
    for (const text of [...harness.client.seen.flatMap((s) => [s.headers, s.body]), ...harness.logs]) expect(findLeak(text, windows)).toBeUndefined();
    const outside = filesUnder(harness.dir).filter((path) => !path.startsWith(`${home}/`));
    expect(outside.length).toBeGreaterThan(0);
    for (const path of outside) expect(findLeak(readFileSync(path, "latin1"), windows), path).toBeUndefined();
    for (const path of [harness.homeRoot, home]) expect(statSync(path).mode & 0o077).toBe(0);
  });
});
