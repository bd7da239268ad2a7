/** The simulator's Codex backend: models, accounts/check, responses (SSE, zstd, WebSocket 426) and its faults. */
import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type SimulatorOptions, type TestAccount } from "../../src/simulator/index.js";

const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
const ACCOUNT_ID = "3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a";
let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

interface Session {
  server: Simulator;
  access: string;
  headers: Record<string, string>;
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Start a simulator and sign in through the device flow, as a runner would. */
async function signedIn(options: SimulatorOptions = {}, account?: TestAccount): Promise<Session> {
  const server = await startSimulator(options);
  sim = server;
  return signIn(server, account);
}

/** Sign in to a running simulator as `account` (default: the default account). */
async function signIn(server: Simulator, account?: TestAccount): Promise<Session> {
  const start = (await (await post(`${server.url}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).json()) as {
    device_auth_id: string;
    user_code: string;
  };
  server.approve(start.user_code, account);
  const code = (await (await post(`${server.url}/api/accounts/deviceauth/token`, start)).json()) as Record<string, string>;
  const res = await fetch(`${server.url}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: CLIENT_ID,
      code: code["authorization_code"] ?? "",
      redirect_uri: `${server.url}/deviceauth/callback`,
      code_verifier: code["code_verifier"] ?? "",
    }),
  });
  const access = ((await res.json()) as { access_token: string }).access_token;
  const accountId = account?.accountId ?? ACCOUNT_ID;
  return { server, access, headers: { authorization: `Bearer ${access}`, "chatgpt-account-id": accountId } };
}

function turnBody(text: string): Record<string, unknown> {
  return {
    model: "gpt-6.1-sol",
    instructions: "Be brief.",
    input: [
      { type: "message", role: "user", content: [{ type: "input_text", text: "<environment_context>ctx</environment_context>" }] },
      { type: "message", role: "user", content: [{ type: "input_text", text }] },
    ],
    tools: [],
    tool_choice: "auto",
    parallel_tool_calls: false,
    store: false,
    stream: true,
    include: [],
  };
}

function respond(s: Session, body: unknown, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.server.url}/backend-api/codex/responses`, {
    method: "POST",
    headers: { ...s.headers, "content-type": "application/json", accept: "text/event-stream", ...extra },
    body: typeof body === "string" ? body : body instanceof Uint8Array ? new Blob([new Uint8Array(body)]) : JSON.stringify(body),
  });
}

/** Parse an SSE body into its data payloads; lines that are not JSON events are kept as raw text. */
function events(text: string): { type?: string; raw: string; [key: string]: unknown }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const data = block.split("\n").find((line) => line.startsWith("data: "))?.slice(6);
      try {
        return { ...(JSON.parse(data ?? "") as Record<string, unknown>), raw: block };
      } catch {
        return { raw: block };
      }
    });
}

/** The concatenated text deltas of an SSE body. */
function answerOf(text: string): string {
  return events(text)
    .filter((event) => event.type === "response.output_text.delta")
    .map((event) => String(event["delta"]))
    .join("");
}

/** A zstd frame holding `data` in one raw block (what any zstd decoder must accept). */
function zstdRawFrame(data: Buffer): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0]);
  header.writeUInt32LE(data.length, 5);
  const block = Buffer.alloc(3);
  block.writeUIntLE((data.length << 3) | 1, 0, 3);
  return Buffer.concat([header, block, data]);
}

describe("models and accounts", () => {
  it("lists models only with a recent client_version", async () => {
    const s = await signedIn();
    const url = `${s.server.url}/backend-api/codex/models`;
    expect((await fetch(url, { headers: s.headers })).status).toBe(400);
    const old = (await (await fetch(`${url}?client_version=0.1.0`, { headers: s.headers })).json()) as { models: unknown[] };
    expect(old.models).toEqual([]);
    const res = await fetch(`${url}?client_version=0.169.0`, { headers: s.headers });
    const body = (await res.json()) as { models: { slug: string; model_messages: unknown }[] };
    expect(body.models.map((model) => model.slug)).toEqual(["gpt-6.1-sol", "gpt-6-luna", "gpt-5.5"]);
    expect(body.models[0]?.model_messages).toBeTruthy();
    expect(s.server.stats().models).toBe(3);
  });

  it("answers accounts/check with the token's account and the default routing", async () => {
    const s = await signedIn();
    const res = await fetch(`${s.server.url}/backend-api/wham/accounts/check`, { headers: s.headers });
    expect(await res.json()).toEqual({
      accounts: [{ id: ACCOUNT_ID, workspace_backend_origin: "https://chatgpt.com", account_routing_override: "NO_CONSTRAINT" }],
    });
    expect(s.server.stats().accountsCheck).toBe(1);
  });
});

describe("usage and rate limits", () => {
  // A fixed clock: 1_800_000_100 s is 100 s into a 5-hour window and 6 d 16 h 4 min into a week (both counted from the epoch).
  const NOW = 1_800_000_100_000;
  const usageOf = (s: Session, headers = s.headers) => fetch(`${s.server.url}/backend-api/wham/usage`, { headers });

  it("answers wham/usage with the account's plan and low usage in fixed 5-hour and weekly windows", async () => {
    const s = await signedIn({ now: () => NOW }, { planType: "pro" });
    const res = await usageOf(s);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      plan_type: "pro",
      rate_limit: {
        allowed: true,
        limit_reached: false,
        primary_window: { used_percent: 12, limit_window_seconds: 18_000, reset_after_seconds: 17_900, reset_at: 1_800_018_000 },
        secondary_window: { used_percent: 42, limit_window_seconds: 604_800, reset_after_seconds: 489_500, reset_at: 1_800_489_600 },
      },
      credits: null,
    });
    expect(s.server.stats().usage).toBe(1);
  });

  it("requires the token and its account, on usage and reset credits alike", async () => {
    const s = await signedIn();
    for (const path of ["/backend-api/wham/usage", "/backend-api/wham/rate-limit-reset-credits"]) {
      const url = `${s.server.url}${path}`;
      expect((await fetch(url)).status).toBe(401);
      const [h, p] = s.access.split(".");
      expect((await fetch(url, { headers: { ...s.headers, authorization: `Bearer ${h}.${p}.${"A".repeat(43)}` } })).status).toBe(401);
      expect((await fetch(url, { headers: { ...s.headers, "chatgpt-account-id": "someone-else" } })).status).toBe(403);
      expect((await fetch(url, { method: "POST", headers: s.headers })).status).toBe(405);
    }
    // The refused requests count; a wrong method is an unknown request, not the endpoint's.
    expect(s.server.stats()).toMatchObject({ usage: 3, resetCredits: 3 });
  });

  it("reports a fired usage-limit for that account only, consistent with the 429 headers, until it resets", async () => {
    let now = NOW;
    const server = await startSimulator({ now: () => now, accessTokenTtlSeconds: 7200 });
    sim = server;
    const ada = await signIn(server, { accountId: "acct-ada", planType: "plus" });
    const bob = await signIn(server, { accountId: "acct-bob", planType: "team" });
    const resetsAt = 1_800_003_700;
    server.fault("usage-limit", { resetsAt, planType: "pro", times: 1 });
    // Injected but not yet fired: nobody has hit it.
    expect(((await (await usageOf(ada)).json()) as { rate_limit: { limit_reached: boolean } }).rate_limit.limit_reached).toBe(false);

    const refused = await respond(ada, turnBody("hi"));
    expect(refused.status).toBe(429);
    const limited = (await (await usageOf(ada)).json()) as {
      plan_type: string;
      rate_limit: { allowed: boolean; limit_reached: boolean; primary_window: Record<string, number>; secondary_window: Record<string, number> };
    };
    expect(limited.plan_type).toBe("pro");
    expect(limited.rate_limit).toMatchObject({ allowed: false, limit_reached: true });
    expect(limited.rate_limit.primary_window).toEqual({ used_percent: 100, limit_window_seconds: 18_000, reset_after_seconds: 3600, reset_at: resetsAt });
    // The same meter as the 429's headers.
    expect(String(limited.rate_limit.primary_window["used_percent"])).toBe(refused.headers.get("x-codex-primary-used-percent"));
    expect(String(limited.rate_limit.primary_window["reset_at"])).toBe(refused.headers.get("x-codex-primary-reset-at"));
    expect(String(limited.rate_limit.secondary_window["used_percent"])).toBe(refused.headers.get("x-codex-secondary-used-percent"));
    expect(String(limited.rate_limit.secondary_window["reset_at"])).toBe(refused.headers.get("x-codex-secondary-reset-at"));
    expect(String((limited.rate_limit.secondary_window["limit_window_seconds"] ?? 0) / 60)).toBe(refused.headers.get("x-codex-secondary-window-minutes"));

    const other = (await (await usageOf(bob)).json()) as { plan_type: string; rate_limit: { limit_reached: boolean } };
    expect(other).toMatchObject({ plan_type: "team", rate_limit: { limit_reached: false } });

    now = resetsAt * 1000;
    const reset = (await (await usageOf(ada)).json()) as { plan_type: string; rate_limit: { limit_reached: boolean; primary_window: { used_percent: number } } };
    expect(reset).toMatchObject({ plan_type: "plus", rate_limit: { limit_reached: false, primary_window: { used_percent: 12 } } });
  });

  it("names the account's plan and a reset an hour out when the usage-limit fault sets neither", async () => {
    const s = await signedIn({ now: () => NOW }, { planType: "team" });
    s.server.fault("usage-limit", { times: 1 });
    expect((await respond(s, turnBody("hi"))).status).toBe(429);
    const body = (await (await usageOf(s)).json()) as { plan_type: string; rate_limit: { primary_window: Record<string, number> } };
    expect(body.plan_type).toBe("team");
    expect(body.rate_limit.primary_window).toMatchObject({ used_percent: 100, reset_at: NOW / 1000 + 3600, reset_after_seconds: 3600 });
  });

  it("applies endpoint faults to usage and reset credits without touching other endpoints", async () => {
    const s = await signedIn();
    s.server.fault("server-error", { endpoint: "usage", status: 503, times: 1 });
    expect((await usageOf(s)).status).toBe(503);
    expect((await usageOf(s)).status).toBe(200);
    s.server.fault("cloudflare-challenge", { endpoint: "resetCredits", times: 1 });
    const challenged = await fetch(`${s.server.url}/backend-api/wham/rate-limit-reset-credits`, { headers: s.headers });
    expect(challenged.status).toBe(403);
    expect(challenged.headers.get("cf-mitigated")).toBe("challenge");
    expect((await usageOf(s)).status).toBe(200);
  });

  it("grants no rate-limit reset credits", async () => {
    const s = await signedIn();
    const res = await fetch(`${s.server.url}/backend-api/wham/rate-limit-reset-credits`, { headers: s.headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ available_count: 0, credits: [] });
    expect(s.server.stats()).toMatchObject({ resetCredits: 1, unknown: [] });
  });
});

describe("backend authentication", () => {
  it("answers 401 without a token, with a forged one, and after expiry", async () => {
    let now = Date.now();
    const s = await signedIn({ accessTokenTtlSeconds: 600, now: () => now });
    const url = `${s.server.url}/backend-api/wham/accounts/check`;
    expect((await fetch(url)).status).toBe(401);
    const [h, p] = s.access.split(".");
    const forged = `${h}.${p}.${"A".repeat(43)}`;
    expect((await fetch(url, { headers: { ...s.headers, authorization: `Bearer ${forged}` } })).status).toBe(401);
    now += 601_000;
    const expired = await fetch(url, { headers: s.headers });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("token_expired");
  });

  it("refuses a chatgpt-account-id that is not the token's account", async () => {
    const s = await signedIn();
    const res = await respond(s, turnBody("hi"), { "chatgpt-account-id": "someone-else" });
    expect(res.status).toBe(403);
    const missing = await fetch(`${s.server.url}/backend-api/wham/accounts/check`, { headers: { authorization: s.headers["authorization"] ?? "" } });
    expect(missing.status).toBe(403);
  });
});

describe("responses", () => {
  it("streams created, item added, deltas, item done and completed with usage", async () => {
    const s = await signedIn();
    const res = await respond(s, turnBody("hello simulator"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const list = events(await res.text());
    const types = list.map((event) => event.type);
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.output_item.added");
    expect(types.at(-2)).toBe("response.output_item.done");
    expect(types.at(-1)).toBe("response.completed");
    const deltas = list.filter((event) => event.type === "response.output_text.delta").map((event) => event["delta"]);
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.join("")).toBe("You said: hello simulator");
    const done = list.at(-2) as unknown as { item: { type: string; role: string; content: { text: string }[] } };
    expect(done.item).toMatchObject({ type: "message", role: "assistant" });
    expect(done.item.content[0]?.text).toBe("You said: hello simulator");
    const completed = list.at(-1) as unknown as { response: { id: string; usage: Record<string, unknown> } };
    expect(completed.response.id).toMatch(/^resp_/);
    expect(completed.response.usage).toMatchObject({
      input_tokens: expect.any(Number),
      output_tokens: 7,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    // Every event carries both lines: `event:` and `data:`.
    expect(list.every((event) => event.raw.startsWith(`event: ${event.type}\ndata: `))).toBe(true);
  });

  it("uses the answer function (async) on the last user message", async () => {
    const s = await signedIn({ answer: async (input, context) => `${context.account.email} asked ${input.length} chars` });
    const list = events(await (await respond(s, turnBody("12345"))).text());
    const deltas = list.filter((event) => event.type === "response.output_text.delta").map((event) => event["delta"]);
    expect(deltas.join("")).toBe("user@example.com asked 5 chars");
  });

  it("decodes a zstd request body", async () => {
    const s = await signedIn();
    const body = zstdRawFrame(Buffer.from(JSON.stringify(turnBody("compressed hello"))));
    const res = await respond(s, body, { "content-encoding": "zstd" });
    expect(res.status).toBe(200);
    expect(answerOf(await res.text())).toBe("You said: compressed hello");
    const bad = await respond(s, Buffer.from("not zstd"), { "content-encoding": "zstd" });
    expect(bad.status).toBe(400);
    expect((await respond(s, "{}", { "content-encoding": "br" })).status).toBe(415);
  });

  it.skipIf(spawnSync("zstd", ["--version"]).status !== 0)("decodes a body compressed by the zstd tool", async () => {
    const s = await signedIn();
    const compressed = spawnSync("zstd", ["-q", "-c", "-19"], { input: JSON.stringify(turnBody("real zstd ".repeat(50))) }).stdout;
    const res = await respond(s, compressed, { "content-encoding": "zstd" });
    expect(answerOf(await res.text())).toBe(`You said: ${"real zstd ".repeat(50)}`);
  });

  it("refuses a body over 8 MiB with 413 and stays up", async () => {
    const s = await signedIn();
    const huge = await respond(s, "x".repeat(9 * 1024 * 1024)).catch(() => undefined);
    expect(huge?.status).toBe(413);
    expect((await respond(s, turnBody("still up"))).status).toBe(200);
  });

  it("shows onRequest the decoded body of a compressed request", async () => {
    const seen: string[] = [];
    const s = await signedIn({ onRequest: (info) => info.endpoint === "responses" && seen.push(info.body) });
    await (await respond(s, zstdRawFrame(Buffer.from(JSON.stringify(turnBody("peek")))), { "content-encoding": "zstd" })).text();
    expect(JSON.parse(seen[0] ?? "{}")).toMatchObject({ model: "gpt-6.1-sol", stream: true });
  });

  it("refuses a non-streaming request and a body that is not JSON", async () => {
    const s = await signedIn();
    expect((await respond(s, { ...turnBody("x"), stream: false })).status).toBe(400);
    expect((await respond(s, "{not json")).status).toBe(400);
  });

  it("answers the WebSocket upgrade with 426 so the CLI falls back to HTTP", async () => {
    const s = await signedIn();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${s.server.url}/backend-api/codex/responses`, {
        headers: { ...s.headers, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("upgrade", () => reject(new Error("upgraded")));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(426);
    expect(s.server.stats().websocket).toBe(1);
  });

  it("records unknown endpoints and answers them 404 JSON", async () => {
    const s = await signedIn();
    const res = await fetch(`${s.server.url}/backend-api/wham/settings/user`, { headers: s.headers });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: "Not Found" });
    expect((await fetch(`${s.server.url}/oauth/token`)).status).toBe(405);
    expect(s.server.stats().unknown).toEqual(["GET /backend-api/wham/settings/user", "GET /oauth/token"]);
  });
});

describe("backend faults", () => {
  it("usage-limit: 429 usage_limit_reached with resets_at, plan and the x-codex headers", async () => {
    const s = await signedIn();
    s.server.fault("usage-limit", { resetsAt: 1_900_000_000, planType: "plus", times: 1 });
    const res = await respond(s, turnBody("hi"));
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: "usage_limit_reached", plan_type: "plus", resets_at: 1_900_000_000 });
    expect(body.error["resets_in_seconds"]).toEqual(expect.any(Number));
    expect(res.headers.get("x-codex-primary-used-percent")).toBe("100");
    expect(res.headers.get("x-codex-primary-reset-at")).toBe("1900000000");
    expect(res.headers.get("x-codex-secondary-window-minutes")).toBe("10080");
    expect(res.headers.get("x-codex-plan-type")).toBe("plus");
    expect((await respond(s, turnBody("hi"))).status).toBe(200);
  });

  it("usage-not-included and model-not-supported", async () => {
    const s = await signedIn();
    s.server.fault("usage-not-included", { times: 1 });
    const notIncluded = await respond(s, turnBody("hi"));
    expect(notIncluded.status).toBe(429);
    expect(((await notIncluded.json()) as { error: { type: string } }).error.type).toBe("usage_not_included");
    s.server.fault("model-not-supported", { times: 1 });
    const unsupported = await respond(s, turnBody("hi"));
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toEqual({
      detail: "The 'gpt-6.1-sol' model is not supported when using Codex with a ChatGPT account.",
    });
  });

  it("cloudflare-challenge: 403 HTML with cf-mitigated on the named endpoint", async () => {
    const s = await signedIn();
    s.server.fault("cloudflare-challenge", { endpoint: "responses" });
    const res = await respond(s, turnBody("hi"));
    expect(res.status).toBe(403);
    expect(res.headers.get("cf-mitigated")).toBe("challenge");
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("Just a moment...");
    expect((await fetch(`${s.server.url}/backend-api/wham/accounts/check`, { headers: s.headers })).status).toBe(200);
  });

  it("server-error and hang on responses", async () => {
    const s = await signedIn();
    s.server.fault("server-error", { endpoint: "responses", times: 1 });
    expect((await respond(s, turnBody("hi"))).status).toBe(500);
    s.server.fault("hang", { endpoint: "responses", times: 1 });
    const hung = fetch(`${s.server.url}/backend-api/codex/responses`, {
      method: "POST",
      headers: { ...s.headers, "content-type": "application/json" },
      body: JSON.stringify(turnBody("hi")),
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow();
    expect((await respond(s, turnBody("hi"))).status).toBe(200);
  });

  it("close() returns promptly while a request hangs", async () => {
    const s = await signedIn();
    s.server.fault("hang");
    const hung = fetch(`${s.server.url}/backend-api/wham/accounts/check`, { headers: s.headers }).catch((error: unknown) => error);
    await new Promise((done) => setTimeout(done, 50));
    const started = performance.now();
    await s.server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await hung).toBeInstanceOf(Error);
    sim = undefined;
  });

  it("cut-stream ends without response.completed", async () => {
    const s = await signedIn();
    s.server.fault("cut-stream", { times: 1 });
    const types = events(await (await respond(s, turnBody("one two three four"))).text()).map((event) => event.type);
    expect(types).toContain("response.output_text.delta");
    expect(types).not.toContain("response.completed");
    expect(types).not.toContain("response.output_item.done");
  });

  it("malformed-sse puts garbage between well-formed events", async () => {
    const s = await signedIn();
    s.server.fault("malformed-sse");
    const list = events(await (await respond(s, turnBody("hi there"))).text());
    expect(list.some((event) => event.raw.includes("not server-sent events"))).toBe(true);
    expect(list.some((event) => event.raw.startsWith("data: {not json"))).toBe(true);
    expect(list.at(-1)?.type).toBe("response.completed");
  });

  it("slow-stream waits delayMs between deltas", async () => {
    const s = await signedIn();
    s.server.fault("slow-stream", { delayMs: 60 });
    const started = performance.now();
    const list = events(await (await respond(s, turnBody("a b c"))).text());
    const deltas = list.filter((event) => event.type === "response.output_text.delta").length;
    expect(deltas).toBe(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 60 - 10);
  });
});
