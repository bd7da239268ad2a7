/**
 * Fidelity of the simulator, proven with the real codex CLI (@openai/codex 0.169.0):
 * each case gets its own simulator, its own temp CODEX_HOME and, where the kernel allows,
 * its own network namespace with nothing but loopback.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { createCodexSession, execArgs, findUserCode, stripAnsi, type CodexCliSession } from "../support/codex-cli.js";

interface ExecEvent {
  type: string;
  item?: { type: string; text?: string };
  usage?: Record<string, number>;
  message?: string;
  error?: { message?: string };
}

let sim: Simulator | undefined;
let session: CodexCliSession | undefined;

async function setup(options: SimulatorOptions = {}): Promise<{ sim: Simulator; cli: CodexCliSession }> {
  sim = await startSimulator({ interval: 1, ...options });
  session = await createCodexSession(sim.url);
  return { sim, cli: session };
}

afterEach(async () => {
  await session?.cleanup();
  await sim?.close();
  session = undefined;
  sim = undefined;
});

/** Drive `codex login --device-auth` to success: read the code it prints, approve it. */
async function login(server: Simulator, cli: CodexCliSession, account = { email: "ada@example.com" }) {
  const proc = cli.start(["login", "--device-auth", "--experimental_issuer", server.url], { timeoutMs: 20_000 });
  const match = await proc.waitForStdout(/\b[A-Z0-9]{4}-[A-Z0-9]{4,6}\b/);
  const code = findUserCode(match[0]);
  expect(code).toBeDefined();
  expect(server.pendingCodes()).toContain(code);
  expect(server.approve(code ?? "", account)).toBe(true);
  return { code, result: await proc.done };
}

function parseEvents(stdout: string): ExecEvent[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as ExecEvent);
}

describe("the real codex CLI against the simulator", { timeout: 90_000 }, () => {
  it("signs in with the device code once the code is approved", async () => {
    const { sim: server, cli } = await setup();
    const { result } = await login(server, cli);
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    expect(stripAnsi(result.stdout)).toContain(`${server.url}/codex/device`);
    expect(stripAnsi(result.stderr)).toContain("Successfully logged in");
    const auth = JSON.parse(readFileSync(join(cli.home, "auth.json"), "utf8")) as {
      auth_mode: string;
      tokens: { account_id: string; access_token: string; refresh_token: string };
    };
    expect(auth.auth_mode).toBe("chatgpt");
    expect(auth.tokens.account_id).toBe("3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a");
    expect(server.issuedTokens()).toContain(auth.tokens.access_token);
    expect(server.issuedTokens()).toContain(auth.tokens.refresh_token);
    expect(server.stats()).toMatchObject({ usercode: 1, codeExchange: 1 });
    expect(server.stats().deviceToken).toBeGreaterThanOrEqual(1);
  });

  it("reports logged out before and logged in after, without a network call", async () => {
    const { sim: server, cli } = await setup();
    const before = await cli.run(["login", "status"], { timeoutMs: 15_000 });
    expect(before.code).toBe(1);
    expect(before.stderr).toContain("Not logged in");
    await login(server, cli);
    const requestsBefore = JSON.stringify(server.stats());
    const after = await cli.run(["login", "status"], { timeoutMs: 15_000 });
    expect(after.code).toBe(0);
    expect(after.stderr).toContain("Logged in using ChatGPT");
    expect(JSON.stringify(server.stats())).toBe(requestsBefore);
  });

  it("gives up with the CLI's message when device-code login is disabled", async () => {
    const { sim: server, cli } = await setup();
    server.fault("device-auth-disabled");
    const result = await cli.run(["login", "--device-auth", "--experimental_issuer", server.url], { timeoutMs: 15_000 });
    expect(result.code).toBe(1);
    expect(stripAnsi(result.stderr + result.stdout).toLowerCase()).toContain("device code login is not enabled");
  });

  it("runs a turn with codex exec and streams the simulator's answer with usage", async () => {
    const { sim: server, cli } = await setup({ answer: (input) => `Echo from the simulator: ${input.trim()}` });
    await login(server, cli);
    const result = await cli.run(execArgs(server.url), { stdin: "What is two plus two?", timeoutMs: 30_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    const events = parseEvents(result.stdout);
    const message = events.find((event) => event.type === "item.completed" && event.item?.type === "agent_message");
    expect(message?.item?.text?.trim()).toBe("Echo from the simulator: What is two plus two?");
    const completed = events.find((event) => event.type === "turn.completed");
    expect(completed?.usage?.["output_tokens"]).toBeGreaterThan(0);
    expect(completed?.usage?.["input_tokens"]).toBeGreaterThan(0);
    const stats = server.stats();
    expect(stats.responses).toBe(1);
    expect(stats.accountsCheck).toBeGreaterThanOrEqual(1);
    expect(stats.models).toBeGreaterThanOrEqual(1);
    // The models catalogue must decode: codex logs an error when it does not.
    expect(result.stderr).not.toContain("failed to decode models response");
  });

  it("shows the CLI's usage-limit message when the plan is exhausted", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    server.fault("usage-limit", { resetsAt, planType: "plus" });
    const result = await cli.run(execArgs(server.url), { stdin: "hello", timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    const failure = parseEvents(result.stdout)
      .filter((event) => event.type === "turn.failed" || event.type === "error")
      .map((event) => event.message ?? event.error?.message ?? "")
      .join("\n");
    expect(failure).toMatch(/usage limit/i);
    expect(failure).toMatch(/try again at/i);
    // A usage limit is final: no retry storm.
    expect(server.stats().responses).toBe(1);
  });

  it("refreshes an expiring access token through the simulator and carries on", async () => {
    // codex refreshes when the token has under 300 s left; 302 s plus a short wait crosses that.
    const { sim: server, cli } = await setup({ accessTokenTtlSeconds: 302 });
    await login(server, cli);
    const issuedAtLogin = server.issuedTokens().length;
    await new Promise((done) => setTimeout(done, 3_000));
    const result = await cli.run(execArgs(server.url), { stdin: "still there?", timeoutMs: 30_000 });
    expect(result.code).toBe(0);
    const message = parseEvents(result.stdout).find((event) => event.item?.type === "agent_message");
    expect(message?.item?.text?.trim()).toBe("You said: still there?");
    const stats = server.stats();
    expect(stats.refresh).toBeGreaterThanOrEqual(1);
    expect(stats.refreshReuse).toBe(0);
    expect(server.issuedTokens().length).toBeGreaterThan(issuedAtLogin);
    // The CLI stored the rotated tokens.
    const auth = JSON.parse(readFileSync(join(cli.home, "auth.json"), "utf8")) as { tokens: { refresh_token: string } };
    expect(server.issuedTokens().indexOf(auth.tokens.refresh_token)).toBeGreaterThanOrEqual(issuedAtLogin);
  });

  it("revokes the refresh token at the simulator on logout", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    const auth = JSON.parse(readFileSync(join(cli.home, "auth.json"), "utf8")) as { tokens: { access_token: string } };
    const result = await cli.run(["logout"], { timeoutMs: 15_000 });
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).toContain("Successfully logged out");
    expect(server.stats().revoke).toBe(1);
    expect(existsSync(join(cli.home, "auth.json"))).toBe(false);
    // Revocation kills the whole grant: the old access token no longer works.
    const check = await fetch(`${server.url}/backend-api/wham/accounts/check`, {
      headers: { authorization: `Bearer ${auth.tokens.access_token}`, "chatgpt-account-id": "3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a" },
    });
    expect(check.status).toBe(401);
  });

  it("retries a stream cut before response.completed and completes the turn", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    server.fault("cut-stream", { times: 1 });
    const result = await cli.run(execArgs(server.url), { stdin: "again", timeoutMs: 30_000 });
    expect(result.code).toBe(0);
    const events = parseEvents(result.stdout);
    expect(events.some((event) => event.type === "error" && /response\.completed/.test(event.message ?? ""))).toBe(true);
    expect(events.find((event) => event.item?.type === "agent_message")?.item?.text?.trim()).toBe("You said: again");
    expect(server.stats().responses).toBe(2);
  });

  it("tolerates garbage lines between SSE events", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    server.fault("malformed-sse");
    const result = await cli.run(execArgs(server.url), { stdin: "noisy", timeoutMs: 30_000 });
    expect(result.code).toBe(0);
    expect(parseEvents(result.stdout).find((event) => event.item?.type === "agent_message")?.item?.text?.trim()).toBe(
      "You said: noisy",
    );
  });

  it("tells the user the plan has no Codex on usage-not-included", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    server.fault("usage-not-included");
    const result = await cli.run(execArgs(server.url), { stdin: "hello", timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    const failed = parseEvents(result.stdout).find((event) => event.type === "turn.failed");
    expect(failed?.error?.message).toMatch(/upgrade to Plus/i);
  });

  it("asks the user to sign in again once every token is revoked", async () => {
    const { sim: server, cli } = await setup();
    await login(server, cli);
    server.fault("revoke-all");
    const result = await cli.run(execArgs(server.url), { stdin: "hello", timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    const failed = parseEvents(result.stdout).find((event) => event.type === "turn.failed");
    expect(failed?.error?.message).toMatch(/refresh token was revoked.*sign in again/i);
    expect(server.stats()).toMatchObject({ responses: 0, refreshReuse: 0 });
    expect(server.stats().refresh).toBeGreaterThanOrEqual(1);
  });

  it("counts the reuse when another client rotated the CLI's refresh token first", async () => {
    const { sim: server, cli } = await setup({ accessTokenTtlSeconds: 302 });
    await login(server, cli);
    const auth = JSON.parse(readFileSync(join(cli.home, "auth.json"), "utf8")) as { tokens: { refresh_token: string } };
    const stolen = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_token: auth.tokens.refresh_token }),
    });
    expect(stolen.status).toBe(200);
    await new Promise((done) => setTimeout(done, 3_000));
    const result = await cli.run(execArgs(server.url), { stdin: "hello", timeoutMs: 30_000 });
    // codex 0.169 keeps going on its still-valid access token; the simulator saw every reuse.
    expect(result.code).toBe(0);
    expect(server.stats().refreshReuse).toBeGreaterThanOrEqual(1);
  });
});
