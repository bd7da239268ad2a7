/**
 * Session layer figures: heap bytes per idle session in the memory store, and the
 * cost of `get()` with 1 vs 50,000 sessions (and with 50,000 expired ones not yet
 * swept). Run: `npm run bench sessions` or
 * `node --import tsx -e "import('./bench/sessions.bench.ts').then(m=>m.default())"`.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createMemorySessionStore } from "../src/backend/sessions/memory-store.js";
import { createRedisSessionStore } from "../src/backend/sessions/redis-store.js";
import { createSealer } from "../src/backend/sessions/seal.js";
import { startRedisServer } from "../tests/support/redis-server.js";

const SESSIONS = 50_000;
const GETS = 200_000;
const ROUNDS = 7;

/** `global.gc` when node runs with --expose-gc; otherwise switch the flag on and fetch gc from a fresh context. */
function getGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const newIds = (n: number): string[] => Array.from({ length: n }, () => randomBytes(16).toString("base64url"));

function settledHeap(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function heapPerSession(gc: () => void, data: string): Promise<number> {
  const ids = newIds(SESSIONS); // the ids live in the bench, not in the store: allocate them before the baseline
  const base = settledHeap(gc);
  const store = createMemorySessionStore({ sweepIntervalMs: 0, maxSessions: SESSIONS });
  const now = Date.now();
  for (const id of ids) await store.create(id, { data, createdAt: now });
  const used = settledHeap(gc) - base;
  if (store.size !== SESSIONS) throw new Error("bench: store lost sessions");
  store.close();
  return used / SESSIONS;
}

/** Heap of a default store filled to its ceiling (10,000), empty or with a distinct sealed token set per session. */
async function heapAtCeiling(gc: () => void, tokenSized: boolean): Promise<number> {
  const sealer = createSealer({ secret: "bench-secret-0123456789abcdef" });
  const tokens = { tokens: { access: "a".repeat(1_200), refresh: "r".repeat(60), id: "i".repeat(900) }, account: { email: "x@example.com" } };
  const ids = newIds(10_000);
  const base = settledHeap(gc);
  const store = createMemorySessionStore({ sweepIntervalMs: 0 });
  const now = Date.now();
  for (const id of ids) {
    const data = tokenSized ? await sealer.seal(tokens) : "";
    await store.create(id, { data, createdAt: now, authenticated: tokenSized });
  }
  const used = settledHeap(gc) - base;
  if (store.size !== 10_000) throw new Error("bench: store lost sessions");
  store.close();
  return used;
}

type Scenario = { store: ReturnType<typeof createMemorySessionStore>; ids: string[] };

/** ns per get for one round of GETS calls, cycling through `ids`. */
async function timeGets({ store, ids }: Scenario): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < GETS; i++) {
    const lookup = await store.get(ids[i % ids.length] as string);
    if (lookup.state !== "active") throw new Error("bench: expected an active session");
  }
  return ((performance.now() - start) * 1e6) / GETS;
}

/** Median ns per get of each scenario; rounds interleave the scenarios so machine load hits them alike. */
async function medians(scenarios: Record<string, Scenario>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const label of Object.keys(scenarios)) await timeGets(scenarios[label] as Scenario); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, scenario] of Object.entries(scenarios)) (samples[label] ??= []).push(await timeGets(scenario));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([label, xs]) => [label, xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number]),
  );
}

async function getCosts(): Promise<Record<string, number>> {
  const idleTimeoutMs = 60 * 60 * 1000;
  const one = createMemorySessionStore({ idleTimeoutMs, sweepIntervalMs: 0 });
  const [single] = newIds(1) as [string];
  await one.create(single, { data: "", createdAt: Date.now() });

  const many = createMemorySessionStore({ idleTimeoutMs, sweepIntervalMs: 0, maxSessions: SESSIONS });
  const manyIds = newIds(SESSIONS);
  for (const id of manyIds) await many.create(id, { data: "", createdAt: Date.now() });

  let clock = Date.now();
  const now = (): number => clock;

  // 50,000 sessions that expire, then 1 live one created afterwards; no write happens, so nothing is swept.
  const stale = createMemorySessionStore({ now, idleTimeoutMs, sweepIntervalMs: 0, sweepPerCall: 0, maxSessions: SESSIONS + 1 });
  for (const id of newIds(SESSIONS)) await stale.create(id, { data: "", createdAt: clock });
  clock += idleTimeoutMs;
  const [fresh] = newIds(1) as [string];
  await stale.create(fresh, { data: "", createdAt: clock });

  const figures = await medians({
    "1 session, same id": { store: one, ids: [single] },
    "50,000 sessions, same id": { store: many, ids: [manyIds[0] as string] },
    "50,000 sessions, cycling all ids": { store: many, ids: manyIds },
    "50,000 expired + 1 live, same id": { store: stale, ids: [fresh] },
  });
  if (stale.size !== SESSIONS + 1) throw new Error("bench: a get swept entries");
  const slice = (store: Scenario["store"]): number => {
    const start = performance.now();
    store.sweep(1_000);
    return performance.now() - start;
  };
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const expiredMs = median(Array.from({ length: 9 }, () => slice(stale)));
  const liveMs = median(Array.from({ length: 9 }, () => slice(many)));
  console.log(`  background sweep slice of 1,000 entries (median of 9): ${expiredMs.toFixed(2)} ms all expired, ${liveMs.toFixed(2)} ms all live`);
  for (const s of [one, many, stale]) s.close();
  return figures;
}

async function sealCosts(): Promise<void> {
  const sealer = createSealer({ secret: "bench-secret-0123456789abcdef" });
  const data = { tokens: { access: "a".repeat(1_200), refresh: "r".repeat(60), id: "i".repeat(900) }, account: { email: "x@example.com" } };
  // The text forms the session manager uses per request: it holds the payload's JSON text already.
  const text = JSON.stringify(data);
  const sealed = sealer.sealTextSync(text);
  const n = 20_000;
  let start = performance.now();
  for (let i = 0; i < n; i++) sealer.sealTextSync(text);
  const sealUs = ((performance.now() - start) * 1e3) / n;
  start = performance.now();
  for (let i = 0; i < n; i++) JSON.parse(sealer.openTextSync(sealed) as string);
  const unsealUs = ((performance.now() - start) * 1e3) / n;
  console.log(`  seal ${sealUs.toFixed(2)} µs, unseal ${unsealUs.toFixed(2)} µs (${sealed.length}-char sealed token set)`);
}

/** Redis store get() on a local redis-server: sequential latency and 50-in-flight throughput (bounded counts). */
async function redisCosts(): Promise<void> {
  let server;
  try {
    server = await startRedisServer();
  } catch {
    console.log("  skipped: no redis-server here");
    return;
  }
  const { createClient } = await import("redis");
  const client = createClient({ url: server.url });
  await client.connect();
  try {
    const store = createRedisSessionStore({ client, prefix: "bench:" });
    const ids = newIds(1_000);
    for (const id of ids) await store.create(id, { data: "", createdAt: Date.now() });
    const sequential = 5_000;
    let start = performance.now();
    for (let i = 0; i < sequential; i++) await store.get(ids[i % ids.length] as string);
    console.log(`  sequential get: ${(((performance.now() - start) * 1e3) / sequential).toFixed(0)} µs each`);
    const total = 20_000;
    let next = 0;
    start = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < total) await store.get(ids[next++ % ids.length] as string);
      }),
    );
    console.log(`  50 in flight: ${Math.round(total / ((performance.now() - start) / 1e3)).toLocaleString("en")} gets/s`);
  } finally {
    await client.quit();
    await server.stop();
  }
}

export default async function run(): Promise<void> {
  const gc = getGc();
  console.log(`memory store, ${SESSIONS.toLocaleString("en")} sessions (heapUsed delta after gc, per session):`);
  console.log(`  idle (never logged in, data ""): ${(await heapPerSession(gc, "")).toFixed(1)} bytes  [target ≤ 256]`);
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  console.log(`memory store at its default ceiling (maxSessions 10,000), heapUsed delta after gc:`);
  console.log(`  never signed in (data ""): ${mib(await heapAtCeiling(gc, false))} MiB; signed in, sealed token set each: ${mib(await heapAtCeiling(gc, true))} MiB`);
  console.log(`memory store get(), median of ${ROUNDS} interleaved rounds × ${GETS.toLocaleString("en")} calls:`);
  const costs = await getCosts();
  for (const [label, ns] of Object.entries(costs)) console.log(`  ${label}: ${ns.toFixed(0)} ns/get`);
  const single = costs["1 session, same id"] as number;
  const pct = (label: string): string => ((single / (costs[label] as number)) * 100).toFixed(0);
  console.log(`  get rate with 50,000 vs 1 session: ${pct("50,000 sessions, same id")} % (one client polling), ${pct("50,000 sessions, cycling all ids")} % (every session in turn: CPU cache misses)`);
  console.log("sealing (AES-256-GCM, node:crypto):");
  await sealCosts();
  console.log("redis store (node-redis 5, redis-server on 127.0.0.1, one connection):");
  await redisCosts();
}
