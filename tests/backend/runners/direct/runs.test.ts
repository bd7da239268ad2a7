import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../../src/contract.js";
import type { SimulatorRequestInfo } from "../../../../src/simulator/index.js";
import { startHarness, textOf, type Harness } from "../../../support/direct-harness.js";
import { until } from "../../../support/until.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MODELS = ["m-alpha", "m-beta"];

async function ready(
  runnerOptions: Parameters<typeof startHarness>[1] = {},
  handlerOptions: Parameters<typeof startHarness>[2] = {},
  seen: SimulatorRequestInfo[] = [],
): Promise<Harness> {
  h = await startHarness({ models: MODELS, onRequest: (info) => seen.push(info) }, runnerOptions, handlerOptions);
  await h.client.signIn(h.sim, { email: "ann@example.com", accountId: "acct-42", planType: "plus" });
  return h;
}

describe("a run through the handler", () => {
  it("streams the answer as appends and ends with usage, not the text again", async () => {
    const seen: SimulatorRequestInfo[] = [];
    await ready({}, {}, seen);
    const run = await h!.client.run("hello there");
    expect(run.status).toBe(200);
    expect(textOf(run.events)).toBe("You said: hello there");
    const done = run.events.at(-1);
    expect(done?.type).toBe("done");
    if (done?.type !== "done") return;
    expect(done.result.text).toBeUndefined();
    expect(done.result.model).toBe("m-alpha");
    expect(done.result.usage?.inputTokens).toBeGreaterThan(0);
    expect(done.result.usage?.outputTokens).toBeGreaterThan(0);
    expect(done.result.usage).toHaveProperty("cachedInputTokens");
    expect(done.result.usage).toHaveProperty("reasoningTokens");

    const turn = seen.find((r) => r.endpoint === "responses");
    expect(turn?.headers).toMatchObject({
      "chatgpt-account-id": "acct-42",
      originator: "codex_cli_rs",
      accept: "text/event-stream",
      version: expect.any(String),
      "session-id": expect.any(String),
    });
    expect(String(turn?.headers.authorization)).toMatch(/^Bearer /);
    expect(String(turn?.headers["user-agent"])).toMatch(/^codex_cli_rs\//);
    const body = JSON.parse(turn?.body ?? "{}");
    expect(body).toMatchObject({ model: "m-alpha", store: false, stream: true });
    expect(body.instructions.length).toBeGreaterThan(0);
  });

  it("discovers the account's models once and reuses the list and the session id across runs", async () => {
    const seen: SimulatorRequestInfo[] = [];
    await ready({}, {}, seen);
    for (let i = 0; i < 3; i++) expect((await h!.client.run(`run ${i}`)).events.at(-1)?.type).toBe("done");
    expect(h!.sim.stats().models).toBe(1);
    expect(h!.sim.stats().responses).toBe(3);
    const ids = new Set(seen.filter((r) => r.endpoint === "responses").map((r) => r.headers["session-id"]));
    expect(ids.size).toBe(1);
  });

  it("refuses a model the plan does not offer, naming the ones it does", async () => {
    await ready({}, { runPolicy: { models: true } });
    const run = await h!.client.run("hi", { model: "m-gamma" });
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "MODEL_NOT_AVAILABLE", models: MODELS });
    expect(h!.sim.stats().responses).toBe(0);
    expect((await h!.client.run("hi", { model: "m-beta" })).events.at(-1)).toMatchObject({ type: "done", result: { model: "m-beta" } });
  });

  it("passes instructions the run policy allows", async () => {
    const seen: SimulatorRequestInfo[] = [];
    await ready({}, { runPolicy: { instructions: true } }, seen);
    await h!.client.run("hi", { instructions: "Answer in French." });
    expect(JSON.parse(seen.find((r) => r.endpoint === "responses")?.body ?? "{}").instructions).toBe("Answer in French.");
  });
});

describe("upstream faults become typed error events", () => {
  it("USAGE_LIMIT with the reset time in epoch ms and the plan, not retried", async () => {
    await ready();
    h!.sim.fault("usage-limit", { resetsAt: 1_900_000_000, planType: "pro" });
    const run = await h!.client.run("hi");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "USAGE_LIMIT", resetsAt: 1_900_000_000_000, planType: "pro" });
    expect(h!.sim.stats().responses).toBe(1);
  });

  it("USAGE_NOT_INCLUDED when the plan has no Codex", async () => {
    await ready();
    h!.sim.fault("usage-not-included");
    expect((await h!.client.run("hi")).events.at(-1)).toMatchObject({ type: "error", code: "USAGE_NOT_INCLUDED" });
  });

  it("MODEL_NOT_AVAILABLE when the backend refuses the model; the app's next preference otherwise", async () => {
    await ready();
    h!.sim.fault("model-not-supported");
    expect((await h!.client.run("hi")).events.at(-1)).toMatchObject({ type: "error", code: "MODEL_NOT_AVAILABLE" });
    await h!.close();

    await ready({ models: ["m-alpha", "m-beta"] });
    h!.sim.fault("model-not-supported", { times: 1 });
    expect((await h!.client.run("hi")).events.at(-1)).toMatchObject({ type: "done", result: { model: "m-beta" } });
  });

  it("UPSTREAM_BLOCKED for a Cloudflare challenge, and the user stays signed in", async () => {
    await ready();
    h!.sim.fault("cloudflare-challenge", { endpoint: "responses" });
    expect((await h!.client.run("hi")).events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_BLOCKED" });
    expect((await h!.client.json("/status")).body.ok).toBe(true);
    expect(h!.sim.stats().refresh).toBe(0);
  });

  it("RUN_FAILED when the stream ends without response.completed", async () => {
    await ready();
    h!.sim.fault("cut-stream");
    const run = await h!.client.run("a longer prompt with several words");
    expect(run.events.some((e) => e.type === "assistant-text")).toBe(true);
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "RUN_FAILED" });
  });

  it("skips garbage lines between events and still delivers the whole answer", async () => {
    await ready();
    h!.sim.fault("malformed-sse");
    const run = await h!.client.run("garbled but fine");
    expect(textOf(run.events)).toBe("You said: garbled but fine");
    expect(run.events.at(-1)?.type).toBe("done");
  });

  it("retries a 5xx with backoff, then reports UPSTREAM_UNAVAILABLE", async () => {
    await ready({ retries: 2 });
    h!.sim.fault("server-error", { endpoint: "responses", times: 1 });
    expect((await h!.client.run("hi")).events.at(-1)?.type).toBe("done");
    expect(h!.sim.stats().responses).toBe(2);
    h!.sim.fault("server-error", { endpoint: "responses", status: 503 });
    expect((await h!.client.run("hi")).events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_UNAVAILABLE" });
    expect(h!.sim.stats().responses).toBe(5);
  });

  it("UPSTREAM_UNAVAILABLE when model discovery fails", async () => {
    h = await startHarness({ onRequest: () => undefined });
    await h.client.signIn(h.sim);
    h.sim.fault("server-error", { endpoint: "models" });
    expect((await h.client.run("hi")).events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_UNAVAILABLE" });
  });

  it("UPSTREAM_TIMEOUT within the connect timeout when the backend hangs", async () => {
    await ready({ timeouts: { connectMs: 400 } });
    h!.sim.fault("hang", { endpoint: "responses" });
    const began = Date.now();
    const run = await h!.client.run("hi");
    const took = Date.now() - began;
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_TIMEOUT" });
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2000);
  });

  it("UPSTREAM_TIMEOUT when the stream goes quiet longer than the idle timeout", async () => {
    await ready({ timeouts: { idleMs: 150 } });
    h!.sim.fault("slow-stream", { delayMs: 600 });
    const began = Date.now();
    const run = await h!.client.run("one two three four five six");
    expect(run.events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_TIMEOUT" });
    expect(Date.now() - began).toBeLessThan(2000);
  });
});

describe("cancellation", () => {
  it("closes the upstream request when the client disconnects", async () => {
    await ready();
    h!.sim.fault("slow-stream", { delayMs: 200 });
    const abort = new AbortController();
    const response = await h!.client.request("/run/stream", {
      method: "POST",
      body: { prompt: "many words to stream slowly one by one" },
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("assistant-text");
    const upstream = h!.calls.find((c) => c.url.endsWith("/codex/responses"));
    expect(upstream?.signal?.aborted).toBe(false);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    await until(() => upstream?.signal?.aborted === true, 2000, "the upstream request's abort").catch(() => undefined);
    expect(upstream?.signal?.aborted).toBe(true);
  });

  it("stops a run at once when its signal aborts, without an error event", async () => {
    await ready();
    h!.sim.fault("slow-stream", { delayMs: 300 });
    const ctx = { id: "x", data: {} as Record<string, unknown> };
    // Reuse the signed-in session's runner state through a fresh login on the runner itself.
    const start = await h!.runner.startDeviceLogin(ctx);
    if (start.status !== "started") throw new Error("not started");
    h!.sim.approve(start.userCode);
    await h!.runner.getStatus(ctx);
    const abort = new AbortController();
    const events: RunEvent[] = [];
    const began = Date.now();
    setTimeout(() => abort.abort(), 100);
    const prompt = "slow words here and there and many more words to stream one by one";
    for await (const event of h!.runner.run(ctx, prompt, abort.signal)) events.push(event);
    // The whole answer would take about four seconds.
    expect(Date.now() - began).toBeLessThan(1500);
    expect(events.some((e) => e.type === "error" || e.type === "done")).toBe(false);
  });
});
