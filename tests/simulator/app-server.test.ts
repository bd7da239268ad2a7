/**
 * The simulator's usage meter, read by the real `codex app-server` (@openai/codex 0.169.0) over
 * JSON-RPC on stdio: device login, then `account/rateLimits/read` before and after a usage limit.
 * Sealed off like the CLI tests: temp CODEX_HOME, dead proxies, and where the kernel allows a
 * private network namespace whose only way out is a relay to the simulator.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/simulator/index.js";
import { CODEX_BIN, loopbackOnlyWrap, NO_INTERNET_ENV, simulatorArgs } from "../support/codex-cli.js";

/** How long one answer or notification may take before the test fails with the server's stderr. */
const WAIT_MS = 20_000;

interface RpcMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

interface Window {
  usedPercent: number;
  windowDurationMins: number | null;
  resetsAt: number | null;
}

interface RateLimitsResult {
  rateLimits: { primary: Window | null; secondary: Window | null; planType: string | null; credits: unknown };
  rateLimitResetCredits: unknown;
}

/** A JSON-RPC peer on the app-server's stdio: requests by id, notifications awaited by method. */
class AppServer {
  private buffer = "";
  private stderr = "";
  private nextId = 0;
  private readonly answers = new Map<number, (message: RpcMessage) => void>();
  private readonly seen: RpcMessage[] = [];
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => this.read(chunk));
    child.stderr?.on("data", (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure.
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-4000);
    });
    child.stdin?.on("error", () => {});
    this.closed = new Promise((done) => child.on("close", () => done()));
  }

  private read(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, end).trim();
      this.buffer = this.buffer.slice(end + 1);
      if (line === "") continue;
      const message = JSON.parse(line) as RpcMessage;
      if (message.id !== undefined && message.method === undefined) this.answers.get(message.id)?.(message);
      else this.seen.push(message);
      for (const waiter of this.waiters) waiter();
    }
  }

  private bounded<T>(what: string, settle: (resolve: (value: T) => void) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`));
      }, WAIT_MS);
      const stop = settle((value) => {
        clearTimeout(timer);
        stop();
        resolve(value);
      });
    });
  }

  /** Send a request and resolve with its result; an error answer rejects. */
  async call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    const answer = this.bounded<RpcMessage>(`the answer to ${method}`, (resolve) => {
      this.answers.set(id, resolve);
      return () => this.answers.delete(id);
    });
    this.child.stdin?.write(`${JSON.stringify({ id, method, params })}\n`);
    const message = await answer;
    if (message.error) throw new Error(`${method} failed: ${message.error.message}`);
    return message.result ?? {};
  }

  notify(method: string, params?: unknown): void {
    this.child.stdin?.write(`${JSON.stringify({ method, params })}\n`);
  }

  /** The first notification named `method` (already received or still to come) that `accept` takes. */
  notification(method: string, accept: (params: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    return this.bounded(`the notification ${method}`, (resolve) => {
      const check = () => {
        const found = this.seen.find((message) => message.method === method && accept(message.params ?? {}));
        if (found) resolve(found.params ?? {});
      };
      this.waiters.add(check);
      queueMicrotask(check);
      return () => this.waiters.delete(check);
    });
  }

  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      // Its own process group: the relay, the node wrapper and the native binary all go.
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

let sim: Simulator | undefined;
let server: AppServer | undefined;
let closeFence: (() => Promise<void>) | undefined;
let home: string | undefined;

afterEach(async () => {
  server?.kill();
  await server?.closed;
  await closeFence?.();
  await sim?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  server = sim = home = undefined;
  closeFence = undefined;
});

/** Start `codex app-server` against `simulator`, sealed off from the internet. */
async function startAppServer(simulator: Simulator): Promise<AppServer> {
  home = mkdtempSync(join(tmpdir(), "codex-app-server-"));
  const args = ["app-server", ...simulatorArgs(simulator.url)];

  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: home,
    CODEX_HOME: home,
    ...NO_INTERNET_ENV,
    // The device login of the app-server has no issuer flag; this is its override.
    CODEX_APP_SERVER_LOGIN_ISSUER: simulator.url,
    NO_COLOR: "1",
  };
  const fence = await loopbackOnlyWrap(home, simulator.url);
  closeFence = fence.close;
  const [command, commandArgs] = fence.wrap ? fence.wrap(CODEX_BIN, args) : [CODEX_BIN, args];
  const child = spawn(command, commandArgs, { env, cwd: home, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  server = new AppServer(child);
  return server;
}

/** Initialize, then sign in with a device code the simulator approves as `account`. */
async function signIn(app: AppServer, simulator: Simulator, account: { email: string; planType: string }): Promise<void> {
  await app.call("initialize", { clientInfo: { name: "codex-auth-tests", version: "0.0.0" } });
  app.notify("initialized");
  const login = await app.call("account/login/start", { type: "chatgptDeviceCode" });
  const userCode = String(login["userCode"]);
  expect(simulator.approve(userCode, account)).toBe(true);
  const completed = await app.notification("account/login/completed", (params) => params["loginId"] === login["loginId"]);
  expect(completed).toMatchObject({ success: true, error: null });
}

describe("codex app-server reads the simulator's usage meter", { timeout: 90_000 }, () => {
  it("account/rateLimits/read: low usage and the account's plan, then full with the fault's reset and plan", async () => {
    // A frozen clock makes the windows' resets exact; tokens stay valid well past the test.
    const frozen = Date.now();
    const nowSeconds = Math.floor(frozen / 1000);
    sim = await startSimulator({ interval: 1, now: () => frozen });
    const app = await startAppServer(sim);
    await signIn(app, sim, { email: "ada@example.com", planType: "plus" });

    const before = (await app.call("account/rateLimits/read")) as unknown as RateLimitsResult;
    expect(before.rateLimits).toMatchObject({
      planType: "plus",
      primary: { usedPercent: 12, windowDurationMins: 300, resetsAt: (Math.floor(nowSeconds / 18_000) + 1) * 18_000 },
      secondary: { usedPercent: 42, windowDurationMins: 10_080, resetsAt: (Math.floor(nowSeconds / 604_800) + 1) * 604_800 },
      credits: null,
    });
    expect(before.rateLimitResetCredits).toEqual({ availableCount: 0, credits: [] });

    const resetsAt = nowSeconds + 7200;
    sim.fault("usage-limit", { resetsAt, planType: "pro", times: 1 });
    const thread = await app.call("thread/start", { ephemeral: true, cwd: home, sandbox: "read-only", approvalPolicy: "never" });
    const threadId = (thread["thread"] as { id: string }).id;
    await app.call("turn/start", { threadId, input: [{ type: "text", text: "hello", text_elements: [] }] });
    const done = await app.notification("turn/completed", (params) => params["threadId"] === threadId);
    expect(done["turn"]).toMatchObject({ status: "failed", error: { codexErrorInfo: "usageLimitExceeded" } });

    const after = (await app.call("account/rateLimits/read")) as unknown as RateLimitsResult;
    expect(after.rateLimits).toMatchObject({
      planType: "pro",
      primary: { usedPercent: 100, windowDurationMins: 300, resetsAt },
      secondary: { usedPercent: 42, windowDurationMins: 10_080, resetsAt: resetsAt + 6 * 86_400 },
    });

    const stats = sim.stats();
    expect(stats.usage).toBe(2);
    expect(stats.resetCredits).toBe(2);
    // The one route left unserved: its answer's shape is unknown, and the app-server goes on without it.
    expect(stats.unknown.filter((entry) => entry !== "GET /backend-api/wham/settings/user")).toEqual([]);
  });
});
