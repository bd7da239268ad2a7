/**
 * Shared set-up of the cliRunner tests: a real simulator, the real codex CLI driven by
 * the real cliRunner through the real handler, each test with its own temp homeRoot.
 * Where `unshare -n` works, every CLI process runs in a private network namespace whose
 * only way out is a relay (over a Unix socket) to the simulator; otherwise proxies point
 * at a dead port and only loopback is exempt.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, expect } from "vitest";
import type { CodexHandler } from "../../src/backend/core/handler.js";
import { cliRunner, type CliRunner, type CliRunnerOptions } from "../../src/backend/cli.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { Client, handlerLoggingTo } from "./direct-harness.js";
import { loopbackOnlyWrap, NO_INTERNET_ENV } from "./codex-cli.js";

const SECRET = "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x";
export const CODEX_BIN = resolve("node_modules/.bin/codex");


export interface CliHarness {
  sim: Simulator;
  runner: CliRunner;
  /** The options `runner` was made with (to make a second runner on the same folders). */
  options: CliRunnerOptions;
  handler: CodexHandler;
  client: Client;
  /** Parent of every session's CODEX_HOME. */
  homeRoot: string;
  /** Private temp folder of this harness (homeRoot and the relay live under it). */
  dir: string;
  isolatedNetwork: boolean;
  logs: string[];
  newClient(): Client;
  /** Pids of processes still running whose command line names this harness's folder. */
  processes(): number[];
  close(): Promise<void>;
}


export function processesMatching(text: string): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(text) && !line.includes("ps -eo"))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid);
}

export async function startCliHarness(
  simOptions: SimulatorOptions = {},
  runnerOptions: CliRunnerOptions = {},
): Promise<CliHarness> {
  const sim = await startSimulator({ interval: 1, ...simOptions });
  const dir = mkdtempSync(join(tmpdir(), "cli-runner-"));
  const homeRoot = join(dir, "homes");
  const port = new URL(sim.url).port;
  const { wrap, isolatedNetwork, close: closeRelay } = await loopbackOnlyWrap(dir, sim.url);
  const options: CliRunnerOptions = {
    codexPath: CODEX_BIN,
    homeRoot,
    issuer: sim.url,
    // Two origins on purpose: with one, workspace routing sends the turn to chatgpt.com.
    chatgptBaseUrl: `http://127.0.0.1:${port}/backend-api/`,
    openaiBaseUrl: `http://localhost:${port}/backend-api/codex`,
    env: { ...NO_INTERNET_ENV },
    wrap,
    timeouts: { loginStartMs: 15_000, execIdleMs: 20_000, execTotalMs: 30_000, logoutMs: 10_000, killGraceMs: 1_000 },
    ...runnerOptions,
  };
  const runner = cliRunner(options);
  const { handler, logs } = handlerLoggingTo(runner, SECRET);
  return {
    sim,
    runner,
    options,
    handler,
    client: new Client(handler),
    homeRoot,
    dir,
    isolatedNetwork,
    logs,
    newClient: () => new Client(handler),
    processes: () => processesMatching(dir),
    async close() {
      await runner.close();
      await closeRelay();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every 16-character window of every token the simulator issued (a piece of a token is a leak too). */
export function tokenWindows(sim: Simulator): Set<string> {
  const windows = new Set<string>();
  for (const token of sim.issuedTokens()) for (let i = 0; i + 16 <= token.length; i++) windows.add(token.slice(i, i + 16));
  return windows;
}

/** The first 16-character piece of an issued token found in `text`, if any. */
export function findLeak(text: string, windows: Set<string>): string | undefined {
  for (let i = 0; i + 16 <= text.length; i++) {
    const piece = text.slice(i, i + 16);
    if (windows.has(piece)) return piece;
  }
  return undefined;
}

export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/**
 * After each test of a file that makes a CLI runner under a temp folder:
 * close the runner, check that no process started under the folder survived,
 * remove the folder, then let the file reset its own variables.
 *
 * @example
 * let dir: string | undefined; let runner: CliRunner | undefined;
 * cleanUpCliRunnerAfterEach(() => ({ dir, runner }), () => ((dir = undefined), (runner = undefined)));
 */
export function cleanUpCliRunnerAfterEach(
  current: () => { dir: string | undefined; runner: { close(): Promise<void> } | undefined },
  reset: () => void,
): void {
  afterEach(async () => {
    const { dir, runner } = current();
    await runner?.close();
    if (dir) {
      expect(processesMatching(dir)).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    }
    reset();
  });
}
