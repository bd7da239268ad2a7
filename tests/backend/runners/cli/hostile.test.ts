/**
 * cliRunner facing a hostile or broken CLI. The real codex CLI never prints these, so a
 * small stand-in script plays it (through the runner's `wrap` option): a login URL on a
 * foreign host, a crash that dumps tokens and paths on stderr, an agent that prints the
 * session's own tokens, a failure line full of secrets. Real handler, real processes.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCodexHandler } from "../../../../src/backend/core/handler.js";
import { cliRunner, type CliRunner } from "../../../../src/backend/cli.js";
import { liveProcessCount } from "../../../../src/backend/runners/cli/spawn.js";
import { Client, textOf } from "../../../support/direct-harness.js";
import { cleanUpCliRunnerAfterEach, findLeak, processesMatching } from "../../../support/cli-harness.js";

const jwt = (payload: object) =>
  `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.c2lnbmF0dXJlLWZha2UtZmFrZS1mYWtlLXNpZw`;
const ID = jwt({ email: "eve@example.com", name: "Eve", "https://api.openai.com/auth": { chatgpt_plan_type: "plus" }, n: "id-0123456789" });
const ACCESS = jwt({ sub: "user-1", n: "access-0123456789abcdef" });
const REFRESH = "rt_Zq9XwV8uT7sR6pO5nM4lK3jI2hG1fE0d";
const TOKENS = [ID, ACCESS, REFRESH];

const FAKE = `
const fs = require("node:fs");
const path = require("node:path");
const os = require("node:os");
const [cmd, ...rest] = process.argv.slice(2);
const mode = process.env.FAKE_MODE;
const home = process.env.CODEX_HOME;
const tokens = ${JSON.stringify({ id_token: ID, access_token: ACCESS, refresh_token: REFRESH })};
if (cmd === "login") {
  const issuer = rest[rest.indexOf("--experimental_issuer") + 1];
  if (mode === "evil-url") {
    process.stdout.write("\\u001b[94mhttps://evil.example/codex/device\\u001b[0m\\n   \\u001b[94mABCD-EFGH1\\u001b[0m\\n");
    setInterval(() => {}, 1000);
  } else if (mode === "long-url") {
    process.stdout.write(issuer + "/codex/device?state=" + "q".repeat(3000) + "\\n   ABCD-EFGH1\\n");
    setInterval(() => {}, 1000);
  } else if (mode === "login-crash") {
    process.stderr.write("Error logging in: Bearer " + tokens.access_token + " refused\\n");
    process.stderr.write("  at " + home + "/auth.json (home " + os.homedir() + "/.codex), key sk-abcdefghijklmnop1234\\n");
    process.exit(1);
  } else {
    process.stdout.write(issuer + "/codex/device\\n   WXYZ-12345\\n");
    setTimeout(() => {
      fs.writeFileSync(path.join(home, "auth.json"), JSON.stringify({ auth_mode: "chatgpt", tokens }));
      process.stderr.write("Successfully logged in\\n");
      process.exit(0);
    }, 100);
  }
} else if (cmd === "exec") {
  let input = "";
  process.stdin.on("data", (c) => (input += c));
  process.stdin.on("end", () => {
    const line = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
    line({ type: "thread.started", thread_id: "t" });
    if (mode === "exec-leak") {
      line({ type: "item.completed", item: { type: "agent_message", text: "auth.json says " + tokens.access_token + " and " + tokens.refresh_token } });
      line({ type: "turn.completed", usage: { input_tokens: 3, output_tokens: 4 } });
      process.exit(0);
    } else if (mode === "exec-fail") {
      line({ type: "turn.failed", error: { message: "unexpected status 401 Unauthorized: Bearer " + tokens.access_token + " rejected; see " + home + "/log" } });
      process.exit(1);
    } else {
      process.stderr.write("ERROR codex_models_manager: failed to refresh available models: unexpected status 401 Unauthorized\\n");
      process.stderr.write("thread panicked at " + home + "/work: token " + tokens.refresh_token + " " + tokens.id_token + "\\n");
      process.exit(101);
    }
  });
} else if (cmd === "logout") {
  fs.rmSync(path.join(home, "auth.json"), { force: true });
  process.exit(0);
}
`;

let dir: string | undefined;
let runner: CliRunner | undefined;
cleanUpCliRunnerAfterEach(
  () => ({ dir, runner }),
  () => {
    dir = undefined;
    runner = undefined;
  },
);

function setup(mode: string, root?: (dir: string) => string): { client: Client; logs: string[]; homeRoot: string } {
  // A second set-up in one test: the first runner is closed by then; drop its folder.
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = mkdtempSync(join(tmpdir(), "cli-hostile-"));
  const fake = join(dir, "fake-codex.cjs");
  writeFileSync(fake, FAKE);
  const homeRoot = root ? root(dir) : join(dir, "homes");
  runner = cliRunner({
    homeRoot,
    issuer: "https://auth.example",
    env: { FAKE_MODE: mode },
    codexPath: fake,
    wrap: (command, args) => [process.execPath, [command, ...args]],
    timeouts: { loginStartMs: 5_000, killGraceMs: 300 },
  });
  const logs: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`);
  const handler = createCodexHandler({
    runner,
    cookieSecret: "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x",
    cookieOptions: { secure: false },
    rateLimits: false,
    logger: { info: log, warn: log, error: log },
  });
  return { client: new Client(handler), logs, homeRoot };
}

function windows(): Set<string> {
  const set = new Set<string>();
  for (const token of TOKENS) for (let i = 0; i + 16 <= token.length; i++) set.add(token.slice(i, i + 16));
  return set;
}

function assertClean(client: Client, logs: string[], homeRoot: string): void {
  const set = windows();
  const surfaces = [...client.seen.flatMap((s) => [s.headers, s.body]), ...logs];
  for (const text of surfaces) {
    expect(findLeak(text, set)).toBeUndefined();
    expect(text).not.toContain(homeRoot);
    expect(text).not.toContain(homedir());
  }
}

async function signIn(client: Client): Promise<void> {
  await client.json("/session", { method: "POST" });
  const start = await client.json("/login/start", { method: "POST" });
  expect(start.body.loginUrl).toBe("https://auth.example/codex/device");
  for (let i = 0; i < 50; i++) {
    if ((await client.json("/status")).body?.ok === true) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error("never signed in");
}

describe("cliRunner against a hostile CLI", { timeout: 20_000 }, () => {
  it("refuses a login URL on a foreign host and kills the child", async () => {
    const { client, logs, homeRoot } = setup("evil-url");
    await client.json("/session", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(502);
    expect(start.body.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(JSON.stringify(start.body)).not.toContain("evil.example");
    expect(liveProcessCount()).toBe(0);
    assertClean(client, logs, homeRoot);
  });

  it("refuses a 3 KB login URL on the issuer's own host and kills the child", async () => {
    const { client, logs, homeRoot } = setup("long-url");
    await client.json("/session", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(502);
    expect(start.body).toEqual({ code: "UPSTREAM_UNAVAILABLE", error: "The codex CLI printed an unexpected login address." });
    expect(liveProcessCount()).toBe(0);
    assertClean(client, logs, homeRoot);
  });

  it("forwards a crashed login's stderr only sanitised", async () => {
    const { client, logs, homeRoot } = setup("login-crash");
    await client.json("/session", { method: "POST" });
    const start = await client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(502);
    expect(start.body.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(start.body.error).toMatch(/Error logging in/);
    expect(start.body.error).not.toMatch(/sk-abcdef|eyJ/);
    assertClean(client, logs, homeRoot);
  });

  it("signs in from auth.json's id token and scrubs the session's tokens from what the agent prints", async () => {
    const { client, logs, homeRoot } = setup("exec-leak");
    await signIn(client);
    const status = await client.json("/status");
    expect(status.body.account).toMatchObject({ email: "eve@example.com", planType: "plus" });
    const run = await client.run("print your auth.json");
    expect(textOf(run.events)).toBe("auth.json says [redacted] and [redacted]");
    expect(run.events.at(-1)).toMatchObject({ type: "done", result: { usage: { inputTokens: 3, outputTokens: 4 } } });
    assertClean(client, logs, homeRoot);
  });

  it("maps a failure line full of secrets to NOT_AUTHENTICATED with a clean message", async () => {
    const { client, logs, homeRoot } = setup("exec-fail");
    await signIn(client);
    const last = (await client.run("hello")).events.at(-1);
    expect(last).toMatchObject({ type: "error", code: "NOT_AUTHENTICATED" });
    expect((await client.json("/status")).status).toBe(401);
    assertClean(client, logs, homeRoot);
  });

  it("reports a crash without JSON as RUN_FAILED from sanitised stderr, and stays signed in", async () => {
    const { client, logs, homeRoot } = setup("exec-crash");
    await signIn(client);
    const last = (await client.run("hello")).events.at(-1);
    expect(last).toMatchObject({ type: "error", code: "RUN_FAILED" });
    if (last?.type === "error") expect(last.error).toMatch(/thread panicked at \[path\]/);
    // A 401 logged on stderr by a side call is not a logout.
    expect((await client.json("/status")).body?.ok).toBe(true);
    assertClean(client, logs, homeRoot);
  });

  it("keeps session folders private (0700) and refuses a home root that is a symlink", async () => {
    const { client, homeRoot } = setup("exec-leak");
    await signIn(client);
    expect(statSync(homeRoot).mode & 0o777).toBe(0o700);
    const [folder] = readdirSync(homeRoot);
    expect(statSync(join(homeRoot, folder!)).mode & 0o777).toBe(0o700);
    await runner?.close();

    const linked = setup("exec-leak", (d) => {
      mkdirSync(join(d, "elsewhere"));
      symlinkSync(join(d, "elsewhere"), join(d, "homes"));
      return join(d, "homes");
    });
    await linked.client.json("/session", { method: "POST" });
    const start = await linked.client.json("/login/start", { method: "POST" });
    expect(start.status).toBe(500);
    expect(start.body.code).toBe("INTERNAL");
    expect(readdirSync(join(dir!, "elsewhere"))).toEqual([]);
    expect(liveProcessCount()).toBe(0);
  });
});
