/**
 * Shared set-up of the appServerRunner tests: a real simulator, the real
 * `codex app-server` (pinned @openai/codex) driven by the real runner through
 * the real handler, each harness with its own temp homeRoot. Network fenced as
 * for the CLI runner (a private namespace where `unshare -n` works, dead proxies
 * elsewhere).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
  /** Pids of processes still running whose command line names this harness's folder, or whose CODEX_HOME is under it. */
  processes(): number[];
  /** Pids of native app-server processes (the binary itself, not its wrappers) with a CODEX_HOME under homeRoot. */
  appServers(): number[];
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
    processes: () => [...new Set([...processesMatching(dir), ...processesWithHomeUnder(dir)])],
    // A fork of the binary (before it execs a helper, e.g. its shell snapshot) has the same command line: not counted.
    appServers: () => processesWithHomeUnder(homeRoot).filter((pid) => isNativeAppServer(pid) && !isNativeAppServer(parentOf(pid))),
    async close() {
      await runner.close();
      await fence.close();
      await sim.close();
      // The binary's children may take a moment to follow their leader.
      await waitFor(() => processesMatching(dir).length + processesWithHomeUnder(dir).length === 0, 5_000, "no app-server process left").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Client.signIn with the time a binary-driven login may take on a loaded machine (the binary polls upstream itself). */
export function signIn(h: AppServerHarness, client: Client, account: { email: string; planType?: string } = { email: "ada@example.com" }) {
  return client.signIn(h.sim, account, 20_000);
}

function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
  } catch {
    return 0;
  }
}

/** The native codex binary running `app-server` (not the npm wrapper or the relay, which run under node). */
function isNativeAppServer(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return /(^|\/)codex$/.test(argv[0] ?? "") && argv[1] === "app-server";
  } catch {
    return false;
  }
}

/**
 * Processes whose environment sets CODEX_HOME under `root` (the native binary's command line
 * names no folder: its home comes by environment). Linux /proc; zombies have no environment.
 */
export function processesWithHomeUnder(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (env.some((line) => line.startsWith(`CODEX_HOME=${root}/`) || line === `CODEX_HOME=${root}`)) pids.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}
