/**
 * codex-auth/ai: the AI SDK's own streamText / generateText on a signed-in
 * session, through the real handler, the real directRunner and the simulator.
 */
import { inspect } from "node:util";
import { APICallError, generateText, stepCountIs, streamText, tool, type ModelMessage } from "ai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { codexErrorOf, createCodexAI, type CodexAI } from "../../../src/backend/ai.js";
import { createCodexHandler, type CodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { directRunner } from "../../../src/backend/direct.js";
import { appServerRunner } from "../../../src/backend/app-server.js";
import { cliRunner } from "../../../src/backend/cli.js";
import { CodexError } from "../../../src/backend/core/errors.js";
import { startSimulator, type Simulator } from "../../../src/simulator/index.js";
import { skewClock, type SkewClock } from "../../support/clock.js";
import { Client } from "../../support/direct-harness.js";

const SECRET = "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x";
const MODEL = "gpt-5.5";

interface Setup {
  sim: Simulator;
  clock: SkewClock;
  options: CodexHandlerOptions;
  handler: CodexHandler;
  codex: CodexAI;
  browser: Client;
  /** Every Responses request body the simulator received. */
  turns: Array<Record<string, unknown>>;
  /** A request to the app's own route, carrying the browser's cookie. */
  appRequest(): Request;
}

async function setup(extra: Partial<CodexHandlerOptions> = {}, aiOptions: Parameters<typeof createCodexAI>[1] = {}): Promise<Setup> {
  const clock = skewClock();
  const turns: Setup["turns"] = [];
  const sim = await startSimulator({
    interval: 1,
    now: clock.now,
    onRequest: (info) => {
      if (info.endpoint === "responses") turns.push(JSON.parse(info.body) as Record<string, unknown>);
    },
  });
  const options: CodexHandlerOptions = {
    runner: directRunner({ issuer: sim.url, backendBaseUrl: `${sim.url}/backend-api`, now: clock.now, retryBaseDelayMs: 5 }),
    cookieSecret: SECRET,
    cookieOptions: { secure: false },
    rateLimits: false,
    ...extra,
  };
  const handler = createCodexHandler(options);
  const codex = createCodexAI(options, aiOptions);
  const browser = new Client(handler);
  await browser.signIn(sim);
  const appRequest = (): Request =>
    new Request("http://app.test/api/chat", { method: "POST", headers: browser.cookie === undefined ? {} : { cookie: browser.cookie } });
  return { sim, clock, options, handler, codex, browser, turns, appRequest };
}

describe("codex-auth/ai on a signed-in session", () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.sim.close();
  });

  it("streams text with streamText", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const result = streamText({ model: provider.languageModel(MODEL), prompt: "hello from the SDK" });
    const chunks: string[] = [];
    for await (const chunk of result.textStream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe("You said: hello from the SDK");
    // What reached upstream is what the Codex backend takes: streamed, never stored.
    expect(s.turns.at(-1)).toMatchObject({ model: MODEL, store: false, stream: true });
    expect(typeof s.turns.at(-1)?.instructions).toBe("string"); // the runner's default: the app gave none
  });

  it("answers generateText from the stream the backend sends (it never answers plain JSON)", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const result = await generateText({ model: provider.languageModel(MODEL), prompt: "in one piece" });
    expect(result.text).toBe("You said: in one piece");
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it("sends a whole multi-turn conversation, system text as a developer message", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const messages: ModelMessage[] = [
      { role: "user", content: "first question" },
      { role: "assistant", content: "first answer" },
      { role: "user", content: "second question" },
    ];
    // `system`, not a system message: ai 7 takes system text only from the call's options.
    const result = await generateText({ model: provider.languageModel(MODEL), system: "Be brief.", messages });
    expect(result.text).toBe("You said: second question");
    const input = s.turns.at(-1)?.input as Array<Record<string, unknown>>;
    expect(input.map((item) => item.role)).toEqual(["developer", "user", "assistant", "user"]);
    expect(JSON.stringify(input)).not.toContain("item_reference");
  });

  it("round-trips a tool call: the model calls it, the SDK runs it, the model answers from its output", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const result = await generateText({
      model: provider.languageModel(MODEL),
      prompt: "use weather for Paris",
      tools: {
        weather: tool({
          description: "The weather in a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `sunny, asked about "${city}"`,
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls[0]?.toolName).toBe("weather");
    expect(result.text).toContain("The weather tool returned:");
    expect(result.text).toContain("sunny");
    const second = JSON.stringify(s.turns.at(-1)?.input);
    expect(second).toContain("function_call_output");
  });

  it("passes reasoning back encrypted on the next turn (stateless: store false)", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const model = provider.languageModel(MODEL);
    const first = await generateText({ model, prompt: "think first", providerOptions: { openai: { reasoningEffort: "low", reasoningSummary: "auto" } } });
    expect(first.reasoningText).toContain("Thinking about: think first");
    const second = await generateText({
      model,
      messages: [{ role: "user", content: "think first" }, ...first.response.messages, { role: "user", content: "and then?" }],
      providerOptions: { openai: { reasoningEffort: "low" } },
    });
    expect(second.text).toBe("You said: and then?");
    expect(JSON.stringify(s.turns.at(-1)?.input)).toContain("sim-reasoning.");
  });

  it("refreshes an expired token between the steps of one call, once", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const refreshes = s.sim.stats().refresh;
    const result = streamText({
      model: provider.languageModel(MODEL),
      prompt: "use clock now",
      tools: {
        clock: tool({
          inputSchema: z.object({}),
          // Two hours pass while the tool runs: the next step's token has expired.
          execute: async () => {
            s.clock.advance(2 * 60 * 60 * 1000);
            return "later";
          },
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(await result.text).toContain("The clock tool returned:");
    expect(s.sim.stats().refresh - refreshes).toBe(1);
    expect(s.sim.stats().refreshReuse).toBe(0);
    expect((await s.browser.json("/status")).body?.ok).toBe(true);
  });

  it("reports a usage limit as an APICallError with our code and reset time, not retried", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    s.sim.fault("usage-limit", { resetsAt });
    const calls = s.sim.stats().responses;
    const failure = await generateText({ model: provider.languageModel(MODEL), prompt: "too much" }).catch((error: unknown) => error);
    expect(s.sim.stats().responses - calls).toBe(1);
    expect(APICallError.isInstance(failure)).toBe(true);
    const body = codexErrorOf(failure);
    expect(body?.code).toBe("USAGE_LIMIT");
    expect(body?.resetsAt).toBe(resetsAt * 1000);
    expect((failure as APICallError).statusCode).toBe(429);
    const response = s.codex.errorResponse(failure);
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({ code: "USAGE_LIMIT", resetsAt: resetsAt * 1000 });
  });

  it("fails generateText with RUN_FAILED when the stream ends before the response completes", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    s.sim.fault("cut-stream", { times: 10 });
    const failure = await generateText({ model: provider.languageModel(MODEL), prompt: "cut me short" }).catch((error: unknown) => error);
    expect(codexErrorOf(failure)?.code).toBe("RUN_FAILED");
    s.sim.clearFaults();
    // The failed call released its slot and left the session signed in.
    expect((await generateText({ model: provider.languageModel(MODEL), prompt: "again" })).text).toBe("You said: again");
  });

  it("lets one model call run per session; the app can opt out", async () => {
    s.sim.fault("slow-stream", { delayMs: 50 });
    const provider = await s.codex.providerFor(s.appRequest());
    const results = await Promise.allSettled([
      generateText({ model: provider.languageModel(MODEL), prompt: "one two three four" }),
      generateText({ model: provider.languageModel(MODEL), prompt: "five six seven eight" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected");
    expect(codexErrorOf((rejected as PromiseRejectedResult).reason)?.code).toBe("RUN_IN_PROGRESS");
    // And the handler's own /run/stream shares the lock: nothing is left held.
    expect((await s.browser.run("after")).events.at(-1)?.type).toBe("done");
  });

  it("stops a model call when the session logs out", async () => {
    s.sim.fault("slow-stream", { delayMs: 300 });
    const provider = await s.codex.providerFor(s.appRequest());
    const result = streamText({ model: provider.languageModel(MODEL), prompt: "a b c d e f g h i j k l" });
    const reader = result.textStream[Symbol.asyncIterator]();
    await reader.next(); // the stream is flowing
    const loggedOut = Date.now();
    await s.browser.json("/logout", { method: "POST" });
    const rest: string[] = [];
    const ended = (async () => {
      for (;;) {
        const next = await reader.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) return;
        rest.push(next.value);
      }
    })();
    await ended;
    expect(Date.now() - loggedOut).toBeLessThan(1_000);
    expect(rest.join("")).not.toContain("l");
  });

  it("shows the app nothing that holds a token: provider, results, metadata, errors", async () => {
    const provider = await s.codex.providerFor(s.appRequest());
    const seen: unknown[] = [provider, provider.languageModel(MODEL)];
    const streamed = streamText({ model: provider.languageModel(MODEL), prompt: "what do you hold?" });
    seen.push(await streamed.text, await streamed.response, await streamed.request, await streamed.providerMetadata, await streamed.steps);
    const generated = await generateText({ model: provider.languageModel(MODEL), prompt: "and now?" });
    seen.push(generated);
    s.sim.fault("usage-limit", {});
    seen.push(await generateText({ model: provider.languageModel(MODEL), prompt: "fail" }).catch((error: unknown) => error));
    s.clock.advance(2 * 60 * 60 * 1000);
    s.sim.fault("revoke-all", {});
    seen.push(await generateText({ model: provider.languageModel(MODEL), prompt: "revoked" }).catch((error: unknown) => error));
    const text = seen.map((value) => `${inspect(value, { depth: 12, showHidden: true, getters: true })}\n${safeJson(value)}`).join("\n");
    const tokens = s.sim.issuedTokens();
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(text).not.toContain(token);
  });
});

describe("codex-auth/ai refuses what the handler refuses", () => {
  let s: Setup;
  afterEach(async () => {
    await s.sim.close();
  });

  it("answers NO_SESSION without a cookie and NOT_AUTHENTICATED for a session that never signed in", async () => {
    s = await setup();
    const anonymous = await s.codex.providerFor(new Request("http://app.test/api/chat", { method: "POST" })).catch((error: unknown) => error);
    expect(anonymous).toBeInstanceOf(CodexError);
    expect((anonymous as CodexError).code).toBe("NO_SESSION");
    const visitor = new Client(s.handler);
    await visitor.json("/session", { method: "POST" });
    const pending = await s.codex
      .providerFor(new Request("http://app.test/api/chat", { headers: { cookie: visitor.cookie ?? "" } }))
      .catch((error: unknown) => error);
    expect((pending as CodexError).code).toBe("NOT_AUTHENTICATED");
    const response = s.codex.errorResponse(pending);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "NOT_AUTHENTICATED" });
  });

  it("refuses a model outside the run policy's list", async () => {
    s = await setup({ runPolicy: { models: ["gpt-5.5"] } });
    const provider = await s.codex.providerFor(s.appRequest());
    expect(() => provider.languageModel("gpt-6-luna")).toThrow(CodexError);
    expect(() => provider.languageModel("gpt-5.5")).not.toThrow();
  });

  it("counts model calls against the run rate limits", async () => {
    s = await setup({ rateLimits: { runPerSession: { points: 1, durationSec: 60 } } });
    await s.codex.providerFor(s.appRequest());
    const second = await s.codex.providerFor(s.appRequest()).catch((error: unknown) => error);
    expect((second as CodexError).code).toBe("RATE_LIMITED");
    expect(s.codex.errorResponse(second).headers.get("retry-after")).not.toBeNull();
  });

  it("cannot be built on a runner that does not hold the tokens itself", () => {
    s = { sim: { close: async () => undefined } } as unknown as Setup;
    expect(() => createCodexAI({ runner: cliRunner(), cookieSecret: SECRET })).toThrow(/directRunner/);
    const appServer = appServerRunner({ sweepIntervalMs: 0 });
    expect(() => createCodexAI({ runner: appServer, cookieSecret: SECRET })).toThrow(/directRunner/);
    expect(appServer.processCount()).toBe(0);
  });
});

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "";
  }
}
