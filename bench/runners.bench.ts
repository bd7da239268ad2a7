/**
 * The three runners side by side on the same answer: directRunner (fetch in
 * this process), cliRunner (a `codex exec` per run) and appServerRunner (one
 * long-lived `codex app-server` per session, JSON-RPC over stdio).
 *
 * How: each runner is set up exactly as its tests do (tests/support/
 * direct-harness.ts, cli-harness.ts, app-server-harness.ts): its own simulator
 * answering every prompt with the same 41-word text, the real runner (the
 * real codex binary for two of them, network-fenced as in the tests: a
 * private network namespace whose only way out is a relay to the simulator
 * where `unshare -n` works, dead proxies otherwise), the real handler, and the
 * tests' browser stand-in calling it in process (Web Request in, Response
 * out, no socket). One session per runner signs in (device code approved at
 * the simulator), then:
 * 1. BENCH_RUNS (default 20) runs after BENCH_WARMUP (default 2) uncounted
 *    ones: time from the request to the first `assistant-text` event, and to
 *    the `done` event. Then the same with the simulator's `slow-stream` fault
 *    (BENCH_SLOW_DELAY_MS, default 50, between deltas), BENCH_SLOW_RUNS
 *    (default 10) runs after one warm-up.
 * 2. BENCH_STATUS_CALLS (default 500) signed-in `GET /status`, each timed from
 *    building the Request to the end of the body, after 20 uncounted.
 * The runners take turns run by run (and /status in blocks of 50), so load
 * from other processes on the machine hits all of them alike.
 * Not part of `npm test`. Run: `npm run bench -- runners`;
 * BENCH_RUNNERS=direct,cli,app-server picks runners (default all).
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import type { RunEvent } from "../src/contract.js";
import type { Simulator } from "../src/simulator/index.js";
import { startAppServerHarness } from "../tests/support/app-server-harness.js";
import { CODEX_BIN, startCliHarness } from "../tests/support/cli-harness.js";
import { startHarness, type Client } from "../tests/support/direct-harness.js";
import { percentile, printTable } from "./table.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const SLOW_RUNS = Number(process.env.BENCH_SLOW_RUNS ?? 10);
const SLOW_DELAY_MS = Number(process.env.BENCH_SLOW_DELAY_MS ?? 50);
const STATUS_CALLS = Number(process.env.BENCH_STATUS_CALLS ?? 500);
const STATUS_BLOCK = 50;
const RUNNERS = (process.env.BENCH_RUNNERS ?? "direct,cli,app-server").split(",");

/** 41 words: the simulator streams one delta per word. */
const ANSWER =
  "The quick brown fox jumps over the lazy dog while seven curious owls watch from an old oak tree, " +
  "counting every leap and every landing, until the morning sun climbs above the quiet hills and the " +
  "whole valley wakes to birdsong.";

/** One runner under test, whatever harness made it. */
interface Setup {
  name: string;
  sim: Simulator;
  client: Client;
  fence: string;
  logs(): string[];
  /** Pids still running under the harness's temp folder (none for the in-process runner). */
  processes(): number[];
  close(): Promise<void>;
}

interface Figures {
  first: number[];
  total: number[];
  textEvents: number[];
  slowTextEvents: number[];
  slowFirst: number[];
  slowTotal: number[];
  status: number[];
  signInMs: number;
  /** Runs that failed or looked wrong: what was seen, once per kind, with a count. */
  problems: Map<string, number>;
}

const makers: Record<string, () => Promise<Setup>> = {
  direct: async () => {
    const h = await startHarness({ answer: () => ANSWER });
    return { name: "direct", sim: h.sim, client: h.client, fence: "none needed (fetch in this process)", logs: () => h.logs, processes: () => [], close: h.close };
  },
  cli: async () => {
    const h = await startCliHarness({ answer: () => ANSWER });
    return { name: "CLI", sim: h.sim, client: h.client, fence: fenceOf(h.isolatedNetwork), logs: () => h.logs, processes: h.processes, close: h.close };
  },
  "app-server": async () => {
    const h = await startAppServerHarness({ answer: () => ANSWER });
    return { name: "app-server", sim: h.sim, client: h.client, fence: fenceOf(h.isolatedNetwork), logs: () => h.logs, processes: h.processes, close: h.close };
  },
};

function fenceOf(isolated: boolean): string {
  return isolated ? "own network namespace, relay to the simulator only (+ dead proxies)" : "dead proxies only (NO_INTERNET_ENV; `unshare -n` unavailable)";
}

export default async function run(): Promise<void> {
  const setups: Setup[] = [];
  const figures = new Map<Setup, Figures>();
  const failed: string[][] = [];
  const began = new Date();
  const loadBefore = loadavg();
  const childrenBefore = new Set(childPids().map((c) => c.pid));
  try {
    for (const key of RUNNERS) {
      const make = makers[key];
      if (!make) throw new Error(`BENCH_RUNNERS: unknown runner ${key} (direct, cli, app-server)`);
      let setup: Setup | undefined;
      try {
        setup = await make();
        setups.push(setup);
        const t0 = performance.now();
        await setup.client.signIn(setup.sim, { email: "bench@example.com" });
        figures.set(setup, { first: [], total: [], textEvents: [], slowTextEvents: [], slowFirst: [], slowTotal: [], status: [], signInMs: performance.now() - t0, problems: new Map() });
      } catch (error) {
        failed.push([setup?.name ?? key, `set-up or sign-in failed: ${String(error)}`]);
        if (setup) {
          setups.splice(setups.indexOf(setup), 1);
          await setup.close();
        }
      }
    }
    const live = setups.filter((s) => figures.has(s));

    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const s of live) await timedRun(s, figures.get(s)!, i >= WARMUP ? "plain" : undefined);
    }
    for (const s of live) s.sim.fault("slow-stream", { delayMs: SLOW_DELAY_MS });
    for (let i = 0; i < 1 + SLOW_RUNS; i++) {
      for (const s of live) await timedRun(s, figures.get(s)!, i >= 1 ? "slow" : undefined);
    }
    for (const s of live) s.sim.clearFaults();

    for (const s of live) for (let i = 0; i < 20; i++) await timedStatus(s, figures.get(s)!, false);
    for (let done = 0; done < STATUS_CALLS; done += STATUS_BLOCK) {
      for (const s of live) for (let i = 0; i < Math.min(STATUS_BLOCK, STATUS_CALLS - done); i++) await timedStatus(s, figures.get(s)!, true);
    }
  } finally {
    for (const s of setups) await s.close();
  }

  const leftOver = setups.flatMap((s) => s.processes().map((pid) => `${s.name}: pid ${pid}`));
  // Children older than the bench (tsx's esbuild service) are not ours to judge.
  const children = childPids().filter((c) => !childrenBefore.has(c.pid));
  const ms = (values: number[], digits = 1) =>
    values.length === 0 ? "-" : `${percentile(values, 0.5).toFixed(digits)} / ${percentile(values, 0.95).toFixed(digits)}`;
  const rows = setups
    .filter((s) => figures.has(s))
    .map((s) => {
      const f = figures.get(s)!;
      return [s.name, ms(f.first), ms(f.total), ms(f.slowFirst), ms(f.slowTotal), ms(f.status, 3), `${percentile(f.textEvents, 0.5)} / ${percentile(f.slowTextEvents, 0.5)}`, f.signInMs.toFixed(0)];
    });
  printTable(
    [
      "runner",
      "first text p50/p95 ms",
      "done p50/p95 ms",
      `slow ${SLOW_DELAY_MS} ms: first text p50/p95`,
      "slow: done p50/p95",
      "GET /status p50/p95 ms",
      "text events/run plain/slow",
      "sign-in ms",
    ],
    [...rows, ...failed],
  );
  console.log(
    `(${RUNS} runs after ${WARMUP} warm-ups, then ${SLOW_RUNS} after 1 with slow-stream ${SLOW_DELAY_MS} ms between deltas; runners take turns run by run; ` +
      `a ${ANSWER.split(/\s+/).length}-word answer, one simulator delta per word; times from the handler call to the event read off the NDJSON body. ` +
      `/status: ${STATUS_CALLS} sequential in-process handler calls, Request built to body read, no socket, after 20 uncounted.)`,
  );
  console.log(
    "text events/run: median count of assistant-text events the browser got per run (the handler merges deltas that arrive together; `codex exec --json` reports only the finished message, so the CLI's first text comes with its done).",
  );
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs, ${codexVersion()}; load average ${loadBefore.map((x) => x.toFixed(2)).join(" ")} at the start (${began.toISOString()}), ` +
      `${loadavg().map((x) => x.toFixed(2)).join(" ")} at the end (${new Date().toISOString()}).`,
  );
  for (const s of setups) console.log(`Network fence, ${s.name}: ${s.fence}.`);
  for (const s of setups) {
    const f = figures.get(s);
    for (const [problem, count] of f?.problems ?? []) console.log(`PROBLEM ${s.name}: ${problem} (${count}×)`);
    const warnings = s.logs().filter((line) => !line.startsWith("info "));
    if (warnings.length > 0) console.log(`${s.name}: ${warnings.length} warning/error log line(s), first: ${warnings[0]?.slice(0, 300)}`);
  }
  console.log(
    leftOver.length === 0 && children.length === 0
      ? "No process left behind (ps: nothing under the harnesses' folders, no child of this process)."
      : `PROCESSES LEFT BEHIND: ${[...leftOver, ...children.map((c) => `child ${c.pid} ${c.command}`)].join(", ")}`,
  );
}

/** One POST /run/stream read as it arrives; kept under `scenario` (warm-ups are checked, not kept). */
async function timedRun(s: Setup, f: Figures, scenario: "plain" | "slow" | undefined): Promise<void> {
  const problem = (what: string): void => {
    f.problems.set(what, (f.problems.get(what) ?? 0) + 1);
  };
  const began = performance.now();
  const response = await s.client.request("/run/stream", { method: "POST", body: { prompt: "Tell me about the fox." } });
  if (response.status !== 200 || !response.body) {
    problem(`run answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return;
  }
  let first = NaN;
  let total = NaN;
  let text = "";
  let textEvents = 0;
  let pending = "";
  const decoder = new TextDecoder();
  const onEvent = (event: RunEvent) => {
    if (!Number.isNaN(total)) problem(`a ${event.type} event after done`);
    if (event.type === "assistant-text") {
      if (Number.isNaN(first)) first = performance.now() - began;
      textEvents++;
      text = event.mode === "append" ? text + event.text : event.text;
    } else if (event.type === "done") {
      total = performance.now() - began;
      if (event.result.text !== undefined) text = event.result.text;
    } else {
      problem(`error event ${event.code}: ${event.error.slice(0, 200)}`);
    }
  };
  const reader = response.body.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    pending += decoder.decode(chunk.value, { stream: true });
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      if (line.trim() !== "") onEvent(JSON.parse(line) as RunEvent);
    }
  }
  if (pending.trim() !== "") problem("the stream ended inside a line");
  if (Number.isNaN(total)) return problem("the stream ended without done");
  if (Number.isNaN(first)) return problem("done without any assistant-text event");
  if (text.trim() !== ANSWER) return problem(`the text differs from the simulator's answer: ${JSON.stringify(text.slice(0, 120))}`);
  if (scenario === "plain") {
    f.first.push(first);
    f.total.push(total);
    f.textEvents.push(textEvents);
  } else if (scenario === "slow") {
    f.slowFirst.push(first);
    f.slowTotal.push(total);
    f.slowTextEvents.push(textEvents);
  }
}

/** One signed-in GET /status: building the Request to the end of the body. */
async function timedStatus(s: Setup, f: Figures, keep: boolean): Promise<void> {
  const began = performance.now();
  const response = await s.client.request("/status");
  const body = await response.text();
  const elapsed = performance.now() - began;
  if (response.status !== 200 || (JSON.parse(body) as { ok?: unknown }).ok !== true) {
    const what = `/status answered ${response.status}: ${body.slice(0, 120)}`;
    f.problems.set(what, (f.problems.get(what) ?? 0) + 1);
    return;
  }
  if (keep) f.status.push(elapsed);
}

function codexVersion(): string {
  try {
    return execFileSync(CODEX_BIN, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    return "codex version unknown";
  }
}

/** This process's running children (the CLI's and app-server's wrappers would be among them), `ps` itself left out. */
function childPids(): Array<{ pid: number; command: string }> {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) === process.pid && !(m[3] ?? "").startsWith("ps "))
    .map((m) => ({ pid: Number(m[1]), command: (m[3] ?? "").slice(0, 120) }));
}
