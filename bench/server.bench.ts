/**
 * Server throughput and memory through the Express 5 and Node adapters:
 * `POST /session` (a new session each time), signed-in `GET /status` with 1
 * and with 50,000 idle sessions in the store, each against a trivial route on
 * the same framework and server; and heap bytes per idle session.
 *
 * How: each framework's server runs in a child process of its own (so
 * autocannon, here, does not share its event loop), on 127.0.0.1, from code
 * compiled as the package is (see bench/children.ts). The routes
 * compared are measured in interleaved rounds and each ratio is the median of
 * the per-round ratios, so load from other processes hits both sides alike.
 * Env: BENCH_SECONDS (default 2) per route per round, BENCH_ROUNDS (default 5),
 * BENCH_QUICK=1 (1 s × 3 rounds, for iterating; not for reported figures),
 * BENCH_FRAMEWORKS=node|express (default both),
 * BENCH_PROFILE=<dir> to write the server children's --cpu-prof files there.
 */
import { loadRoute, type LoadTarget } from "./autocannon.js";
import { childCpuMicros, withChild, type Child } from "./children.js";
import { measureInRounds, ratioCells, type Rounds } from "./rounds.js";
import type { ChildConfig, ChildReady } from "./server-child.js";
import { printTable } from "./table.js";

const QUICK = process.env.BENCH_QUICK === "1";
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 2));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? "express,node").split(",").filter((f): f is "express" | "node" => f === "express" || f === "node");
const IDLE_SESSIONS = 50_000;

interface Target extends LoadTarget {
  child: ServerChild;
}

export default async function run(): Promise<void> {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const framework of FRAMEWORKS) {
    // Two servers side by side, so that the 50k sessions weigh on one process's heap only.
    await withServerChild({ framework, idleSessions: 0 }, (a) =>
      withServerChild({ framework, idleSessions: IDLE_SESSIONS }, async (b) => {
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

type ServerChild = Child<ChildReady>;

function withServerChild<T>(config: ChildConfig, body: (child: ServerChild) => Promise<T>): Promise<T> {
  const execArgv = ["--expose-gc"];
  if (process.env.BENCH_PROFILE) execArgv.push("--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`);
  return withChild({ entry: "server-child.ts", configEnv: "CODEX_BENCH_CHILD", config, execArgv }, body);
}

/** Measures the targets in interleaved rounds. */
function compare(targets: Target[]): Promise<Rounds[]> {
  return measureInRounds(targets, hit, { rounds: ROUNDS, seconds: SECONDS });
}

async function hit(target: Target, seconds: number): Promise<{ rate: number; cpu: number }> {
  const c = target.child;
  const cpuBefore = await childCpuMicros(c);
  const { rate, requests } = await loadRoute(c.baseUrl, target, seconds, `${target.method} ${target.path}`);
  const cpu = (await childCpuMicros(c)) - cpuBefore;
  return { rate, cpu: cpu / Math.max(1, requests) };
}

/**
 * A table row: req/s ratio (what the target names) and the CPU-capacity ratio
 * (base CPU µs per request ÷ ours), which a loaded machine disturbs far less.
 */
function row(framework: string, name: string, ours: Rounds | undefined, base: Rounds | undefined, min: number): string[] {
  const target = min === 0 ? "(info)" : min === 0.9 ? "≥ 90 %" : `≥ ${min.toFixed(2)}×`;
  return [framework, name, ...ratioCells(ours, base, min), target];
}
