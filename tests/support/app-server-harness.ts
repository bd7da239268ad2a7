/**
 * Shared set-up of the appServerRunner tests: a real simulator, the real
 * `codex app-server` (pinned @openai/codex) driven by the real runner through
 * the real handler, each harness with its own temp homeRoot. Network fenced as
 * for the CLI runner (a private namespace where `unshare -n` works, dead proxies
 * elsewhere).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CodexHandler } from "../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../src/backend/core/options.js";
import { appServerRunner, type AppServerRunner, type AppServerRunnerOptions } from "../../src/backend/app-server.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { processesMatching, waitFor } from "./cli-harness.js";
import { loopbackOnlyWrap, NO_INTERNET_ENV } from "./codex-cli.js";
import { Client, handlerLoggingTo } from "./direct-harness.js";

const SECRET = "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x";
export const CODEX_BIN = resolve("node_modules/.bin/codex");

export interface AppServerHarness {
  sim: Simulator;
  runner: AppServerRunner;
  handler: CodexHandler;
  client: Client;
  homeRoot: string;
  dir: string;
  isolatedNetwork: boolean;
  /** Handler log lines and the runner's own (stderr) log lines. */
  logs: string[];
  newClient(): Client;
  /** Pids of processes still running whose command line names this harness's folder. */
  processes(): number[];
  close(): Promise<void>;
}

export async function startAppServerHarness(
  simOptions: SimulatorOptions = {},
  runnerOptions: AppServerRunnerOptions = {},
  handlerOptions: Partial<CodexHandlerOptions> = {},
): Promise<AppServerHarness> {
  const sim = await startSimulator({ interval: 1, ...simOptions });
  const dir = mkdtempSync(join(tmpdir(), "app-server-runner-"));
  const homeRoot = join(dir, "homes");
  const port = new URL(sim.url).port;
  const fence = await loopbackOnlyWrap(dir, sim.url);
  const runnerLogs: string[] = [];
  const runner = appServerRunner({
    codexPath: CODEX_BIN,
    homeRoot,
    issuer: sim.url,
    // Two origins on purpose: with one, workspace routing sends the turn to chatgpt.com.
    chatgptBaseUrl: `http://127.0.0.1:${port}/backend-api/`,
    openaiBaseUrl: `http://localhost:${port}/backend-api/codex`,
    env: { ...NO_INTERNET_ENV },
    wrap: fence.wrap,
    timeouts: { startMs: 20_000, requestMs: 10_000, turnIdleMs: 20_000, turnTotalMs: 30_000, interruptMs: 3_000, killGraceMs: 1_000 },
    logger: { warn: (message, fields) => runnerLogs.push(`runner ${message} ${JSON.stringify(fields ?? {})}`) },
    ...runnerOptions,
  });
  const made = handlerLoggingTo(runner, SECRET, handlerOptions);
  return {
    sim,
    runner,
    handler: made.handler,
    client: new Client(made.handler),
    homeRoot,
    dir,
    isolatedNetwork: fence.isolatedNetwork,
    get logs() {
      return [...made.logs, ...runnerLogs];
    },
    newClient: () => new Client(made.handler),
    processes: () => processesMatching(dir),
    async close() {
      await runner.close();
      await fence.close();
      await sim.close();
      // The binary's children may take a moment to follow their leader.
      await waitFor(() => processesMatching(dir).length === 0, 5_000, "no app-server process left").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST /session, /login/start; approve the code at the simulator; poll /status until signed in. */
export async function signIn(h: AppServerHarness, client: Client, account: { email: string; planType?: string } = { email: "ada@example.com" }) {
  await client.json("/session", { method: "POST" });
  const start = await client.json("/login/start", { method: "POST" });
  if (start.status !== 200) throw new Error(`login/start answered ${start.status}: ${JSON.stringify(start.body)}`);
  if (!h.sim.approve(start.body.userCode, account)) throw new Error("the simulator does not know the code");
  return waitFor(
    async () => {
      const status = await client.json("/status");
      return status.body?.ok === true ? status.body : undefined;
    },
    20_000,
    "the login to complete",
  );
}
