/**
 * The app-server pool's hold on a folder lasts until its process has exited, not
 * only until it was told to stop: the real binary writes to its CODEX_HOME while it
 * shuts down. A stand-in binary here takes its time to exit and writes a file into
 * its home when it does, so the order of events can be read from a log.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveAppServerOptions } from "../../../../src/backend/runners/app-server/options.js";
import { AppServerPool } from "../../../../src/backend/runners/app-server/pool.js";
import { HomeSweeper } from "../../../../src/backend/runners/cli/sweep.js";
import { waitFor } from "../../../support/cli-harness.js";

const NAME = `s-${"a".repeat(32)}`;

/** An app-server that answers `initialize`, and on SIGTERM waits `exitMs`, writes into its home, then exits; it logs each step. */
function slowExitingServer(dir: string, log: string, exitMs: number): string {
  const path = join(dir, "slow-exit-app-server.cjs");
  writeFileSync(
    path,
    `#!/usr/bin/env node
const fs = require("node:fs");
const path = require("node:path");
const note = (what) => fs.appendFileSync(${JSON.stringify(log)}, what + " " + process.pid + "\\n");
note("start");
let buffer = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf("\\n")) >= 0) {
    const message = JSON.parse(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
    if (message.method === "initialize") process.stdout.write(JSON.stringify({ id: message.id, result: { userAgent: "stand-in" } }) + "\\n");
  }
});
process.on("SIGTERM", () => {
  note("term");
  setTimeout(() => {
    const state = path.join(process.env.CODEX_HOME, "sqlite");
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(path.join(state, "state.db"), "written at shutdown");
    note("exit");
    process.exit(0);
  }, ${exitMs});
});
setInterval(() => undefined, 1_000);
`,
  );
  chmodSync(path, 0o700);
  return path;
}

const events = (log: string): string[] => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []);

let dir: string | undefined;
let pool: AppServerPool | undefined;
afterEach(async () => {
  await pool?.stopAll();
  pool = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function setUp(extra: { idleShutdownMs?: number; now?: () => number } = {}) {
  dir = mkdtempSync(join(tmpdir(), "codex-auth-pool-"));
  const log = join(dir, "events.log");
  const homeRoot = join(dir, "homes");
  mkdirSync(homeRoot, { mode: 0o700 });
  const opts = resolveAppServerOptions({
    codexPath: slowExitingServer(dir, log, 600),
    homeRoot,
    idleShutdownMs: extra.idleShutdownMs ?? 60_000,
    maxSessionAgeMs: 60_000,
    sweepIntervalMs: 0,
    timeouts: { startMs: 10_000, killGraceMs: 10_000 },
    now: extra.now,
  });
  pool = new AppServerPool(opts);
  return { log, homeRoot, pool, sweeper: new HomeSweeper(opts, (name) => pool!.has(name)) };
}

describe("AppServerPool: a process holds its folder until it has exited", { timeout: 30_000 }, () => {
  it("the sweep leaves an abandoned folder alone while its process is still exiting, and removes it after", async () => {
    let now = Date.now();
    const { log, homeRoot, pool, sweeper } = setUp({ idleShutdownMs: 100, now: () => now });
    (await pool.acquire(NAME)).release();
    now += 120_000; // the session is long abandoned
    // The idle shutdown sends SIGTERM; the stand-in takes 600 ms to exit.
    await waitFor(() => events(log).some((line) => line.startsWith("term")), 5_000, "the idle shutdown's SIGTERM");
    expect(await sweeper.sweep()).toBe(0);
    expect(events(log).some((line) => line.startsWith("exit"))).toBe(false);
    expect(pool.size).toBe(1);
    await waitFor(() => pool.size === 0, 5_000, "the process's exit");
    expect(events(log).some((line) => line.startsWith("exit"))).toBe(true);
    expect(await sweeper.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, NAME))).toBe(false);
  });

  it("starts a folder's next process only once its last one has exited", async () => {
    const { log, pool } = setUp();
    (await pool.acquire(NAME)).release();
    const stopping = pool.stop(NAME);
    const lease = await pool.acquire(NAME);
    await stopping;
    lease.release();
    expect(events(log).map((line) => line.split(" ")[0])).toEqual(["start", "term", "exit", "start"]);
    const [first, , exited, second] = events(log).map((line) => line.split(" ")[1]);
    expect(exited).toBe(first);
    expect(second).not.toBe(first);
  });
});

