/**
 * Server throughput and memory through the Express 5 and Node adapters:
 * `POST /session` (a new session each time), signed-in `GET /status` with 1
 * and with 50,000 idle sessions in the store, each against a trivial route on
 * the same framework and server; and heap bytes per idle session.
 *
 * How: each framework's server runs in a child process of its own (so
 * autocannon, here, does not share its event loop), on 127.0.0.1, from code
 * compiled as the package is (see builtChild). The routes
 * compared are measured in interleaved rounds and each ratio is the median of
 * the per-round ratios, so load from other processes hits both sides alike.
 * Env: BENCH_SECONDS (default 2) per route per round, BENCH_ROUNDS (default 5),
 * BENCH_QUICK=1 (1 s × 3 rounds, for iterating; not for reported figures),
 * BENCH_FRAMEWORKS=node|express (default both),
 * BENCH_PROFILE=<dir> to write the server children's --cpu-prof files there.
 */
import { fork, type ChildProcess } from "node:child_process";
import { build } from "esbuild";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { ChildConfig, ChildReady } from "./server-child.js";

interface AutocannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const QUICK = process.env.BENCH_QUICK === "1";
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 2));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? "express,node").split(",").filter((f): f is "express" | "node" => f === "express" || f === "node");
const IDLE_SESSIONS = 50_000;

interface Target {
  child: Child;
  method: "GET" | "POST";
  path: string;
  cookie?: string;
}

export default async function run(): Promise<void> {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const framework of FRAMEWORKS) {
    // Two servers side by side, so that the 50k sessions weigh on one process's heap only.
    await withChild({ framework, idleSessions: 0 }, (a) =>
      withChild({ framework, idleSessions: IDLE_SESSIONS }, async (b) => {
        const [trivialPost, session] = await compare([
          { child: a, method: "POST", path: "/trivial" },
          { child: a, method: "POST", path: "/fresh/api/codex/session" },
        ]);
        rows.push(row(framework, "POST /session (new session each)", session, trivialPost, 0.7));

        const [trivialGet, constant, sessionRead, one, full, trivialGetB, oneB] = await compare([
          { child: a, method: "GET", path: "/trivial" },
          { child: a, method: "GET", path: "/constant" },
          { child: a, method: "GET", path: "/session-read", cookie: a.cookie },
          { child: a, method: "GET", path: "/api/codex/status", cookie: a.cookie },
          { child: b, method: "GET", path: "/full/api/codex/status", cookie: b.fullCookie },
          { child: b, method: "GET", path: "/trivial" },
          { child: b, method: "GET", path: "/api/codex/status", cookie: b.cookie },
        ]);
        rows.push(row(framework, "a Web handler of one's own (constant Response)", constant, trivialGet, 0));
        rows.push(row(framework, "floor: trivial route + reading its session", sessionRead, trivialGet, 0));
        rows.push(row(framework, "GET /status (1 session)", one, trivialGet, 0.85));
        rows.push(row(framework, `GET /status (${IDLE_SESSIONS / 1000}k idle sessions)`, full, trivialGetB, 0.85));
        rows.push(row(framework, "  …50k idle vs 1 session (other process)", full, one, 0.9));
        // Same heap and same moment as the 50k figure: isolates the store's size from process-to-process noise.
        rows.push(row(framework, "  …50k idle vs 1 session (same process)", full, oneB, 0.9));
        notes.push(
          `${framework}: ${b.heapPerSession.toFixed(0)} bytes of heap per idle session (${IDLE_SESSIONS} made through the handler's POST /session; heapUsed after gc, before and after) — target ≤ 256: ${b.heapPerSession <= 256 ? "met" : "MISSED"}`,
        );
      }),
    );
  }
  printTable(
    ["framework", "case", "req/s", "vs req/s", "req/s ratio", "CPU µs/req", "vs CPU µs/req", "CPU-capacity ratio", "target"],
    rows,
  );
  for (const line of notes) console.log(line);
  console.log(
    `(autocannon, 10 connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per route after a 1 s warm-up; figures and ratios are medians over rounds; CPU = the server process's user+system time per completed request; Node ${process.version}${QUICK ? "; BENCH_QUICK: indicative only" : ""})`,
  );
  console.log(
    "Baselines: Express = app.all('/trivial') first in the app, res.json({ ok: true }), ETag off; node = writeHead + end of the same JSON. The codex handlers run with the built-in rate limiter on (POST /session per IP widened for the flood). Each Express codex router sits in an app of its own, after the trivial route. 'floor' = the trivial route that also reads its signed-in session with the handler's own parts (cookie check, store read, opening the sealed data): what any route that knows its user pays.",
  );
}

interface Child extends ChildReady {
  process: ChildProcess;
}

async function withChild<T>(config: ChildConfig, body: (child: Child) => Promise<T>): Promise<T> {
  const execArgv = ["--expose-gc"];
  if (process.env.BENCH_PROFILE) execArgv.push("--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`);
  const child = fork(await builtChild(), [], {
    execArgv,
    env: { ...process.env, CODEX_BENCH_CHILD: JSON.stringify(config) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const ready = await new Promise<ChildReady>((resolve, reject) => {
      child.once("message", (m) => resolve(m as ChildReady));
      child.once("exit", (code) => reject(new Error(`bench server exited early (${code})`)));
    });
    return await body({ ...ready, process: child });
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    if (child.connected) child.send("stop"); // a graceful exit lets --cpu-prof write its file
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill();
  }
}

let built: Promise<string> | undefined;

/**
 * The server child compiled the way the package is (esbuild, ES2022, no
 * keepNames: what tsup ships), not run through tsx, whose transform wraps every
 * closure made per request in a naming call that the published code never has.
 * Packages stay external, resolved from this repository's node_modules.
 */
function builtChild(): Promise<string> {
  built ??= (async () => {
    const outfile = fileURLToPath(new URL("../node_modules/.cache/codex-auth-bench/server-child.mjs", import.meta.url));
    await build({
      entryPoints: [fileURLToPath(new URL("./server-child.ts", import.meta.url))],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "es2022",
      packages: "external",
      logLevel: "warning",
    });
    return outfile;
  })();
  return built;
}

/** Per-round figures of one target: req/s, and the server's CPU µs per request. */
interface Rounds {
  rates: number[];
  cpu: number[];
}

/** Measures the targets in interleaved rounds. */
async function compare(targets: Target[]): Promise<Rounds[]> {
  for (const t of targets) await hit(t, 1); // warm-up
  const out: Rounds[] = targets.map(() => ({ rates: [], cpu: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of targets.entries()) {
      const { rate, cpuPerRequest } = await hit(t, SECONDS);
      out[i]?.rates.push(rate);
      out[i]?.cpu.push(cpuPerRequest);
    }
  }
  return out;
}

/** The server process's CPU time so far (user + system), in µs. */
function serverCpu(c: Child): Promise<number> {
  return new Promise((resolve) => {
    c.process.once("message", (m) => resolve((m as { cpuMicros: number }).cpuMicros));
    c.process.send("cpu");
  });
}

async function hit(target: Target, seconds: number): Promise<{ rate: number; cpuPerRequest: number }> {
  const c = target.child;
  const cpuBefore = await serverCpu(c);
  const headers: Record<string, string> = { origin: c.baseUrl, "content-type": "application/json" };
  if (target.cookie) headers.cookie = target.cookie;
  const result = await autocannon({ url: c.baseUrl + target.path, method: target.method, headers, connections: 10, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.method} ${target.path}: ${result.non2xx} non-2xx, ${result.errors} errors — not measuring what it says`);
  }
  const cpu = (await serverCpu(c)) - cpuBefore;
  return { rate: result.requests.average, cpuPerRequest: cpu / Math.max(1, result.requests.total) };
}

/**
 * A table row: req/s ratio (what the target names) and the CPU-capacity ratio
 * (base CPU µs per request ÷ ours), which a loaded machine disturbs far less.
 */
function row(framework: string, name: string, ours: Rounds | undefined, base: Rounds | undefined, min: number): string[] {
  const r = ours ?? { rates: [], cpu: [] };
  const b = base ?? { rates: [], cpu: [] };
  const rateRatio = median(r.rates.map((x, i) => x / (b.rates[i] ?? NaN)));
  const cpuRatio = median(r.cpu.map((x, i) => (b.cpu[i] ?? NaN) / x));
  const target = min === 0 ? "(info)" : min === 0.9 ? "≥ 90 %" : `≥ ${min.toFixed(2)}×`;
  const verdict = (x: number) => (min === 0 ? "" : x >= min ? "met" : "MISSED");
  return [
    framework,
    name,
    median(r.rates).toFixed(0),
    median(b.rates).toFixed(0),
    `${rateRatio.toFixed(2)}× ${verdict(rateRatio)}`,
    median(r.cpu).toFixed(0),
    median(b.cpu).toFixed(0),
    `${cpuRatio.toFixed(2)}× ${verdict(cpuRatio)}`,
    target,
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
