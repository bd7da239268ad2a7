/**
 * The Redis session store's rows (issue #12): its throughput against the
 * memory store, the Redis round trips each browser route costs, and a load run
 * over three processes sharing one Redis.
 *
 * 1. Stores, same run: signed-in `GET /status` and `POST /session` (a new
 *    session each) through the Node adapter with `createRedisSessionStore({ client })`
 *    (node-redis) against the same handler with the memory store (target:
 *    Redis ≥ 0.5× memory). How: as bench/server.bench.ts — the server runs in a
 *    child process compiled as the package is (bench/redis-child.ts), on
 *    127.0.0.1, loaded by autocannon (10 connections) in interleaved rounds;
 *    req/s ratio and CPU-capacity ratio (memory store's CPU µs per request ÷
 *    the Redis store's, the child's user+system time) are medians of per-round
 *    ratios. The redis-server's own CPU per request (INFO cpu) is printed beside.
 *    Env: BENCH_SECONDS (default 2), BENCH_ROUNDS (default 5), BENCH_QUICK=1 (1 s × 3).
 * 2. Round trips per request, for each route a browser uses, with the direct
 *    runner on the simulator (sign-in approved at the first poll). How:
 *    BENCH_RT_REQUESTS (default 20) browser sessions one after another, after
 *    one uncounted warm-up, against one handler in this process, each doing
 *    POST /session, /login/start, GET /status until signed in, GET /status ×3,
 *    POST /run/stream, POST /logout; each request measured alone. "sent" counts the commands the handler's client
 *    sent, read from MONITOR (lines a Lua script runs are its inner work, not
 *    round trips; node-redis may pipeline several sent commands into one write,
 *    so "sent" is an upper bound on round trips); "executed" is INFO stats
 *    total_commands_processed over the same window, less our own INFO/ECHO
 *    calls, scripts' inner commands included. A request's window closes when a
 *    marker ECHO sent after it has reached MONITOR and a second marker shows
 *    nothing more arrived. Measured twice: the built-in rate limiter in memory
 *    (so the figures are the store's alone), and on Redis (`rateLimits.storeClient`).
 *    Target: 1 for signed-in GET /status.
 * 3. Load over three processes on Redis (tests/support/process-fleet.ts: Redis, the
 *    simulator, three backend processes run through tsx, and a round-robin
 *    proxy without sticky sessions; proxy, simulator and these clients share
 *    this process): BENCH_LOAD_SESSIONS (default 1,000) signed-in sessions each
 *    polling GET /status every BENCH_POLL_MS (default 2,000, from a random
 *    phase, as the browser client does), plus BENCH_LOAD_STREAMS (default 50)
 *    sessions each running POST /run/stream back to back, for
 *    BENCH_LOAD_SECONDS (default 60). Errors: any non-2xx, any network error or
 *    timeout (BENCH_REQUEST_TIMEOUT_MS, default 30,000), a status that says
 *    signed out, a run whose last NDJSON event is not `done` (target 0).
 *    Latency: status = request to end of body; run = request to its first body
 *    byte; p50/p99 over every request. Sessions sign in before the clock
 *    starts (BENCH_SIGNIN_CONCURRENCY at a time, approved through the
 *    simulator). RSS of each instance, asked over IPC, at boot, at the start of
 *    load and at its end.
 *
 * Not part of `npm test`. Run: `npm run bench -- redis`; BENCH_REDIS_PARTS=stores,trips,load
 * picks sections (default all).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "redis";
import { createNodeHandler } from "../src/backend/adapters/node.js";
import type { RateLimitOptions } from "../src/backend/core/options.js";
import { directRunner } from "../src/backend/direct.js";
import { createRedisSessionStore } from "../src/backend/sessions/redis-store.js";
import { startSimulator } from "../src/simulator/index.js";
import { FleetClient, instanceRss, startFleet, type Fleet } from "../tests/support/process-fleet.js";
import { startRedisServer, type RedisServer } from "../tests/support/redis-server.js";
import { loadRoute, type LoadTarget } from "./autocannon.js";
import { SECRET } from "./child-parts.js";
import { childCpuMicros, withChild, type Child } from "./children.js";
import type { RedisChildConfig, RedisChildReady } from "./redis-child.js";
import { measureInRounds, ratioCells, type Rounds } from "./rounds.js";
import { median, printTable } from "./table.js";

type RedisClient = ReturnType<typeof createClient>;

const QUICK = process.env.BENCH_QUICK === "1";
const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const SECONDS = num("BENCH_SECONDS", QUICK ? 1 : 2);
const ROUNDS = num("BENCH_ROUNDS", QUICK ? 3 : 5);
const RT_REQUESTS = num("BENCH_RT_REQUESTS", QUICK ? 5 : 20);
const LOAD_SECONDS = num("BENCH_LOAD_SECONDS", 60);
const LOAD_SESSIONS = num("BENCH_LOAD_SESSIONS", 1_000);
const LOAD_STREAMS = num("BENCH_LOAD_STREAMS", 50);
const POLL_MS = num("BENCH_POLL_MS", 2_000);
const REQUEST_TIMEOUT_MS = num("BENCH_REQUEST_TIMEOUT_MS", 30_000);
const SIGNIN_CONCURRENCY = num("BENCH_SIGNIN_CONCURRENCY", 50);
/** Every built-in limit on, each too wide to answer 429 to one benchmark IP. */
const WIDE = { points: 1_000_000_000, durationSec: 60 };
const WIDE_LIMITS: RateLimitOptions = {
  sessionCreatePerIp: WIDE,
  loginStartPerSession: WIDE,
  loginStartPerIp: WIDE,
  runPerSession: WIDE,
  runPerIp: WIDE,
};

/** BENCH_REDIS_PARTS=stores,trips,load (default all three): which sections run. */
const PARTS = new Set((process.env.BENCH_REDIS_PARTS ?? "stores,trips,load").split(","));

export default async function run(): Promise<void> {
  if (PARTS.has("stores")) await storeRows();
  if (PARTS.has("trips")) await roundTripRows();
  if (PARTS.has("load")) await loadRun();
}

// ---- 1. Redis store vs memory store ---------------------------------------------------

type RedisChild = Child<RedisChildReady>;

interface Target extends LoadTarget {
  name: string;
}

/** Per-round figures of one target: req/s, this child's CPU µs per request, and redis-server's CPU µs per request. */
interface StoreRounds extends Rounds {
  redisCpu: number[];
}

async function storeRows(): Promise<void> {
  console.log("\n-- Redis session store vs memory store (Node adapter, same child process)");
  const redis = await startRedisServer();
  const control = await connected(redis).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  try {
    await withRedisChild({ redisUrl: redis.url }, async (child) => {
      const measure = (targets: Target[]) => compare(child, control, targets);
      const [memStatus, redisStatus] = await measure([
        { name: "mem status", method: "GET", path: "/mem/api/codex/status", cookie: child.cookies.mem },
        { name: "redis status", method: "GET", path: "/redis/api/codex/status", cookie: child.cookies.redis },
      ]);
      const [memSession, redisSession] = await measure([
        { name: "mem session", method: "POST", path: "/mem-fresh/api/codex/session" },
        { name: "redis session", method: "POST", path: "/redis-fresh/api/codex/session" },
      ]);
      printTable(
        ["case", "Redis req/s", "memory req/s", "req/s ratio", "CPU µs/req Redis", "CPU µs/req memory", "CPU-capacity ratio", "redis-server µs/req", "target"],
        [storeRow("GET /status (signed in)", redisStatus, memStatus), storeRow("POST /session (new session each)", redisSession, memSession)],
      );
    });
  } finally {
    await control.quit();
    await redis.stop();
  }
  console.log(
    `(autocannon, 10 connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per route after a 1 s warm-up; medians over rounds; CPU = the server child's user+system time per completed request, redis-server's from INFO cpu; the built-in rate limiter on and in memory on both sides; Node ${process.version}${QUICK ? "; BENCH_QUICK: indicative only" : ""})`,
  );
}

function storeRow(name: string, ours: StoreRounds | undefined, base: StoreRounds | undefined): string[] {
  return [name, ...ratioCells(ours, base, 0.5), median(ours?.redisCpu ?? []).toFixed(0), "≥ 0.50×"];
}

function compare(child: RedisChild, control: RedisClient, targets: Target[]): Promise<StoreRounds[]> {
  return measureInRounds(targets, (target, seconds) => hit(child, control, target, seconds), { rounds: ROUNDS, seconds: SECONDS });
}

async function hit(child: RedisChild, control: RedisClient, target: Target, seconds: number): Promise<{ rate: number; cpu: number; redisCpu: number }> {
  const cpuBefore = await childCpuMicros(child);
  const redisBefore = await redisCpuMicros(control);
  const { rate, requests } = await loadRoute(child.baseUrl, target, seconds, target.name);
  const completed = Math.max(1, requests);
  const cpu = (await childCpuMicros(child)) - cpuBefore;
  const redisCpu = (await redisCpuMicros(control)) - redisBefore;
  return { rate, cpu: cpu / completed, redisCpu: redisCpu / completed };
}

/** redis-server's user+system CPU so far, in µs (INFO cpu). */
async function redisCpuMicros(control: RedisClient): Promise<number> {
  const info = await control.info("cpu");
  return (infoField(info, "used_cpu_user") + infoField(info, "used_cpu_sys")) * 1e6;
}

function withRedisChild<T>(config: RedisChildConfig, body: (child: RedisChild) => Promise<T>): Promise<T> {
  return withChild({ entry: "redis-child.ts", configEnv: "CODEX_BENCH_REDIS_CHILD", config, startTimeoutMs: 30_000 }, body);
}

// ---- 2. Redis round trips per request ---------------------------------------------------

/** Counts what reaches Redis: commands clients send (from MONITOR) and commands executed (INFO stats). */
class RedisTally {
  /** Commands sent by any client but ours (MONITOR lines that are neither from a script nor from `control`). */
  sent = 0;
  /** Commands `control` sent, left out of "executed". */
  private ownSent = 0;
  private marks = new Map<string, () => void>();
  private markSeq = 0;

  private constructor(
    private readonly control: RedisClient,
    private readonly monitor: RedisClient,
    private readonly controlAddr: string,
  ) {}

  static async open(redis: RedisServer): Promise<RedisTally> {
    const control = await connected(redis);
    const monitor = await connected(redis).catch(async (error: unknown) => {
      await control.quit();
      throw error;
    });
    try {
      const addr = /(?:^|\s)addr=(\S+)/.exec(String(await control.sendCommand(["CLIENT", "INFO"])))?.[1];
      if (addr === undefined) throw new Error("bench: CLIENT INFO gave no addr");
      const tally = new RedisTally(control, monitor, addr);
      await monitor.monitor((line) => tally.onLine(String(line)));
      return tally;
    } catch (error) {
      monitor.destroy();
      await control.quit();
      throw error;
    }
  }

  /** A MONITOR line: `<time> [<db> <addr>|lua] "<command>" …`. */
  private onLine(line: string): void {
    const source = /^\S+ \[\d+ ([^\]]+)\]/.exec(line)?.[1];
    if (source === undefined || source === "lua") return;
    if (source === this.controlAddr) {
      const mark = /"echo" "(bench-mark-\d+)"/i.exec(line)?.[1];
      if (mark !== undefined) this.marks.get(mark)?.();
      return;
    }
    this.sent++;
  }

  /** Resolves once every command sent before this call has reached MONITOR. */
  private async mark(): Promise<void> {
    const name = `bench-mark-${++this.markSeq}`;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("bench: MONITOR did not show the marker in 5 s")), 5_000);
      this.marks.set(name, () => {
        clearTimeout(timer);
        this.marks.delete(name);
        resolve();
      });
    });
    this.ownSent++;
    await this.control.echo(name);
    await seen;
  }

  /**
   * Settles, then returns (sent, executed) so far. Settled: a marker has come
   * through MONITOR and, 20 ms later, a second one shows nothing new arrived
   * (work a request leaves behind, e.g. a release after its stream closed,
   * belongs to that request). Every own command is counted out of "executed".
   */
  async snapshot(): Promise<{ sent: number; executed: number }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = this.sent;
      await this.mark();
      await new Promise((r) => setTimeout(r, 20));
      await this.mark();
      if (this.sent === before) break;
    }
    const executed = infoField(await this.control.info("stats"), "total_commands_processed");
    // An INFO reply counts every command before it but not itself; the next one counts it.
    const ours = this.ownSent;
    this.ownSent++;
    return { sent: this.sent, executed: executed - ours };
  }

  async close(): Promise<void> {
    this.monitor.destroy(); // QUIT on a monitoring connection is answered into the monitor callback, never resolved
    await this.control.quit();
  }
}

interface RouteTally {
  requests: number;
  sent: number;
  executed: number;
}

const ROUTES = [
  "POST /session",
  "POST /login/start",
  "GET /status (login pending or completing)",
  "GET /status (signed in)",
  "POST /run/stream",
  "POST /logout",
] as const;
type Route = (typeof ROUTES)[number];
let redisVersion = "?";

async function roundTripRows(): Promise<void> {
  console.log("\n-- Redis round trips per request (direct runner on the simulator, sequential requests)");
  const inMemory = await countRoundTrips(false);
  const onRedis = await countRoundTrips(true);
  const per = (t: RouteTally | undefined, field: "sent" | "executed") => (t === undefined || t.requests === 0 ? "-" : (t[field] / t.requests).toFixed(2));
  printTable(
    ["route", "requests", "sent (limits in memory)", "executed", "sent (limits on Redis)", "executed", "target"],
    ROUTES.map((route) => {
      const a = inMemory.get(route);
      const b = onRedis.get(route);
      const target =
        route === "GET /status (signed in)" ? `1 sent: ${a !== undefined && a.requests > 0 && a.sent / a.requests <= 1 ? "met" : "MISSED"}` : "(info)";
      return [route, String(a?.requests ?? 0), per(a, "sent"), per(a, "executed"), per(b, "sent"), per(b, "executed"), target];
    }),
  );
  console.log(
    `(${RT_REQUESTS} browser sessions after one for warm-up, one after another, each: POST /session, POST /login/start, GET /status until signed in, GET /status ×3, POST /run/stream read to its end, POST /logout; per-request means. sent = commands the handler's node-redis client sent (MONITOR, a script's inner calls left out; pipelining may merge several into one round trip); executed = INFO stats total_commands_processed delta less our own INFO and marker ECHO calls, scripts' inner commands included; redis-server ${redisVersion})`,
  );
}

async function countRoundTrips(limitsOnRedis: boolean): Promise<Map<Route, RouteTally>> {
  const redis = await startRedisServer();
  const sim = await startSimulator({ interval: 1, autoApprove: 0 });
  let client: RedisClient | undefined;
  let tally: RedisTally | undefined;
  let server: Server | undefined;
  try {
    client = await connected(redis);
    redisVersion = /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "?";
    const handler = createNodeHandler({
      runner: directRunner({ issuer: sim.url, backendBaseUrl: `${sim.url}/backend-api` }),
      cookieSecret: SECRET,
      cookieOptions: { secure: false },
      sessionStore: createRedisSessionStore({ client }),
      rateLimits: limitsOnRedis ? { ...WIDE_LIMITS, storeClient: client, useRedisPackage: true } : WIDE_LIMITS,
    });
    const listening = createServer((req, res) => void handler(req, res));
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    const counter = await RedisTally.open(redis);
    tally = counter;
    const routes = new Map<Route, RouteTally>(ROUTES.map((route) => [route, { requests: 0, sent: 0, executed: 0 }]));
    let last = await counter.snapshot();
    const count = async <T>(route: Route, request: () => Promise<T>): Promise<T> => {
      const result = await request();
      const now = await counter.snapshot();
      const entry = routes.get(route) as RouteTally;
      entry.requests++;
      entry.sent += now.sent - last.sent;
      entry.executed += now.executed - last.executed;
      last = now;
      return result;
    };
    const ok = (what: string, response: { status: number; body: unknown }): void => {
      if (response.status !== 200) throw new Error(`bench: ${what} answered ${response.status} ${JSON.stringify(response.body)}`);
    };
    // Session 0 warms up (each script's first EVALSHA on a fresh server is a NOSCRIPT and then an EVAL): not counted.
    for (let i = 0; i <= RT_REQUESTS; i++) {
      if (i === 1) for (const entry of routes.values()) Object.assign(entry, { requests: 0, sent: 0, executed: 0 });
      const browser = new FleetClient(url, sim);
      ok("POST /session", await count("POST /session", () => browser.json("/session", { method: "POST" })));
      ok("POST /login/start", await count("POST /login/start", () => browser.json("/login/start", { method: "POST" })));
      const deadline = Date.now() + 15_000;
      for (;;) {
        const status = await count("GET /status (login pending or completing)", () => browser.json("/status"));
        ok("GET /status", status);
        if (status.body?.ok === true) break;
        if (Date.now() > deadline) throw new Error("bench: not signed in within 15 s");
        await new Promise((r) => setTimeout(r, 250)); // a browser's pace while the code is shown
      }
      for (let s = 0; s < 3; s++) {
        const status = await count("GET /status (signed in)", () => browser.json("/status"));
        if (status.body?.ok !== true) throw new Error(`bench: signed-in status said ${JSON.stringify(status.body)}`);
      }
      const ran = await count("POST /run/stream", () => browser.run(`round trip ${i}`));
      if (ran.events.at(-1)?.type !== "done") throw new Error(`bench: run ended with ${JSON.stringify(ran.events.at(-1) ?? ran.body)}`);
      ok("POST /logout", await count("POST /logout", () => browser.json("/logout", { method: "POST" })));
    }
    return routes;
  } finally {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await tally?.close();
    await client?.quit();
    await sim.close();
    await redis.stop();
  }
}

// ---- 3. Load over three processes -------------------------------------------------------

interface LoadFigures {
  statusLatency: number[];
  firstByte: number[];
  requests: number;
  runs: number;
  errors: Map<string, number>;
}

async function loadRun(): Promise<void> {
  console.log(
    `\n-- Load: ${LOAD_SESSIONS} sessions polling GET /status every ${POLL_MS} ms + ${LOAD_STREAMS} back-to-back streams, ${LOAD_SECONDS} s, 3 instances on one Redis`,
  );
  const hardStop = AbortSignal.timeout((LOAD_SECONDS + 300) * 1000);
  const fleet = await startFleet({ sim: { interval: 1, answer: loadAnswer } });
  try {
    const rss0 = await Promise.all(fleet.instances.map((i) => instanceRss(i)));
    const began = Date.now();
    const pollers = await signInAll(fleet, LOAD_SESSIONS, hardStop);
    const streamers = await signInAll(fleet, LOAD_STREAMS, hardStop);
    const signInSeconds = (Date.now() - began) / 1000;
    const rssStart = await Promise.all(fleet.instances.map((i) => instanceRss(i)));
    const figures: LoadFigures = { statusLatency: [], firstByte: [], requests: 0, runs: 0, errors: new Map() };
    const end = Date.now() + LOAD_SECONDS * 1000;
    await Promise.all([
      ...pollers.map((browser) => poll(browser, end, figures, hardStop)),
      ...streamers.map((browser, i) => stream(browser, i, end, figures, hardStop)),
    ]);
    const rssEnd = await Promise.all(fleet.instances.map((i) => instanceRss(i)));
    const errors = [...figures.errors.values()].reduce((a, b) => a + b, 0);
    printTable(
      ["figure", "value", "target"],
      [
        ["requests (status + runs)", String(figures.requests), ""],
        ["runs completed", String(figures.runs), ""],
        ["errors", String(errors), `0: ${errors === 0 ? "met" : "MISSED"}`],
        ...[...figures.errors].map(([kind, n]) => [`  ${kind}`, String(n), ""]),
        ["GET /status p50 / p99 ms", `${pct(figures.statusLatency, 0.5)} / ${pct(figures.statusLatency, 0.99)}`, "(info)"],
        ["run first byte p50 / p99 ms", `${pct(figures.firstByte, 0.5)} / ${pct(figures.firstByte, 0.99)}`, "(info)"],
        ...fleet.instances.map((instance, i) => [
          `${instance.name} RSS MB boot / load start / end (requests served since boot)`,
          `${mb(rss0[i])} / ${mb(rssStart[i])} / ${mb(rssEnd[i])} (${instance.served})`,
          "(info)",
        ]),
      ],
    );
    console.log(
      `(sign-in of ${pollers.length + streamers.length} sessions took ${signInSeconds.toFixed(1)} s, ${SIGNIN_CONCURRENCY} at a time, before the clock started; requests counted are those started within the ${LOAD_SECONDS} s; latency from fetch() to the end of the status body / to a run's first body byte, measured in the process that also runs the proxy and the simulator; instances run their TypeScript through tsx; Node ${process.version})`,
    );
  } finally {
    await fleet.close();
  }
}

/** A run's answer: 40 words, so a stream carries several deltas. */
function loadAnswer(prompt: string): string {
  return `${prompt}: ${Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ")}`;
}

async function signInAll(fleet: Fleet, count: number, stop: AbortSignal): Promise<FleetClient[]> {
  const clients: FleetClient[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      if (stop.aborted) throw new Error("bench: sign-in ran out of time");
      const browser = fleet.client();
      await browser.signIn();
      clients.push(browser);
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, SIGNIN_CONCURRENCY) }, worker));
  return clients;
}

function countError(figures: LoadFigures, kind: string): void {
  figures.errors.set(kind, (figures.errors.get(kind) ?? 0) + 1);
}

function describeFailure(error: unknown): string {
  const name = (error as { name?: string } | null)?.name;
  if (name === "TimeoutError") return "timeout";
  const cause = (error as { cause?: { code?: string } } | null)?.cause?.code;
  return `network ${cause ?? name ?? "error"}`;
}

/** One browser tab: GET /status every POLL_MS from a random phase, until `end`. */
async function poll(browser: FleetClient, end: number, figures: LoadFigures, stop: AbortSignal): Promise<void> {
  await sleep(Math.random() * POLL_MS);
  while (Date.now() < end && !stop.aborted) {
    const started = performance.now();
    figures.requests++;
    try {
      const response = await browser.request("/status", { signal: AbortSignal.any([stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
      const text = await response.text();
      figures.statusLatency.push(performance.now() - started);
      if (response.status !== 200) countError(figures, `GET /status ${response.status} ${codeOf(text)}`);
      else if ((JSON.parse(text) as { ok?: unknown }).ok !== true) countError(figures, "GET /status signed out");
    } catch (error) {
      countError(figures, `GET /status ${describeFailure(error)}`);
    }
    await sleep(Math.max(0, started + POLL_MS - performance.now()));
  }
}

/** One chat: POST /run/stream read to its end, again and again, until `end`. */
async function stream(browser: FleetClient, index: number, end: number, figures: LoadFigures, stop: AbortSignal): Promise<void> {
  for (let n = 0; Date.now() < end && !stop.aborted; n++) {
    const started = performance.now();
    figures.requests++;
    try {
      const response = await browser.request("/run/stream", {
        method: "POST",
        body: { prompt: `stream ${index} run ${n}` },
        signal: AbortSignal.any([stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      if (response.status !== 200 || response.body === null) {
        countError(figures, `POST /run/stream ${response.status} ${codeOf(await response.text())}`);
        await sleep(100); // a failing route must not turn the loop into a spin
        continue;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (let first = true; ; first = false) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first) figures.firstByte.push(performance.now() - started);
        text += decoder.decode(value, { stream: true });
      }
      const lastLine = text.trimEnd().split("\n").at(-1) ?? "";
      const type = (JSON.parse(lastLine === "" ? "{}" : lastLine) as { type?: string }).type;
      if (type === "done") figures.runs++;
      else countError(figures, `POST /run/stream ended with ${type ?? "nothing"}`);
    } catch (error) {
      countError(figures, `POST /run/stream ${describeFailure(error)}`);
      await sleep(100);
    }
  }
}

function codeOf(text: string): string {
  try {
    return String((JSON.parse(text) as { code?: unknown }).code ?? "");
  } catch {
    return "";
  }
}

// ---- shared ------------------------------------------------------------------------------

async function connected(redis: RedisServer): Promise<RedisClient> {
  const client = createClient({ url: redis.url });
  client.on("error", (error: unknown) => console.error("bench redis client:", error));
  await client.connect();
  return client;
}

function infoField(info: string, field: string): number {
  const value = new RegExp(`^${field}:(\\S+)`, "m").exec(info)?.[1];
  if (value === undefined) throw new Error(`bench: INFO has no ${field}`);
  return Number(value);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pct(values: number[], p: number): string {
  if (values.length === 0) return "-";
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(1);
}

const mb = (bytes: number | undefined): string => (bytes === undefined ? "-" : (bytes / 1024 / 1024).toFixed(0));
