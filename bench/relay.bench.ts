/**
 * Relay cost of handler + directRunner against reading the simulator directly,
 * in the same run: time to first text for a 200-delta answer (target ≤ direct
 * + 3 ms), total time for 1 MB of text in 20,000 deltas (target ≤ 6× direct),
 * and the relay's RSS growth while a client stalls on a 28 MB stream (target ≤ 20 MB).
 *
 * How: every party has a process of its own, as in a deployment: the simulator
 * (a child; it writes without backpressure), the relay (bench/relay-child.ts:
 * node:http → Node adapter → handler → directRunner → fetch, built as the
 * package is), and the client here. Until 2026-12-03 the relay ran in this
 * process, whose thread then also did the client's reading and whose RSS held
 * the client's buffers; a browser does neither on the backend. Both paths
 * are read by the same node:http client with keep-alive on 127.0.0.1: "direct"
 * POSTs /codex/responses with a session's own token and parses the SSE with
 * eventsource-parser; "relay" POSTs /run/stream and reads NDJSON. Rounds
 * alternate direct/relay; figures are medians (TTFB: the median of per-round
 * differences, with the best round of each). RELAY_DEBUG=1 prints every round.
 * Env: RELAY_ROUNDS (default 41), RELAY_BULK_ROUNDS (default 7), RELAY_STALL_MS (default 3000).
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { directRunner } from "../src/backend/direct.js";
import type { RunnerContext } from "../src/backend/runners/types.js";
import { withChild, type Child } from "./children.js";
import type { MemoryWindow, RelayChildConfig, RelayChildReady } from "./relay-child.js";

const ROUNDS = Number(process.env.RELAY_ROUNDS ?? 41);
const BULK_ROUNDS = Number(process.env.RELAY_BULK_ROUNDS ?? 7);
const STALL_MS = Number(process.env.RELAY_STALL_MS ?? 3000);
const MB = 1024 * 1024;

/** The answers the child simulator gives, by prompt. Words are deltas (the simulator splits on whitespace). */
function answerFor(prompt: string): string {
  if (prompt === "ttfb") return Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ");
  if (prompt === "bulk") return Array.from({ length: 20_000 }, () => "x".repeat(51)).join(" ") + " "; // 1 MiB+ in 20,000 deltas
  if (prompt === "huge") return Array.from({ length: 28 * 1024 }, () => "y".repeat(1023)).join(" ") + " "; // 28 MiB
  return `You said: ${prompt}`;
}

// ---- child: the simulator ---------------------------------------------------
if (process.env.RELAY_BENCH_CHILD === "1") {
  const { startSimulator } = await import("../src/simulator/index.js");
  const sim = await startSimulator({ interval: 1, autoApprove: 0, answer: answerFor, models: ["bench-model"] });
  process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
  process.on("disconnect", () => void sim.close().then(() => process.exit(0)));
  process.on("SIGTERM", () => void sim.close().then(() => process.exit(0)));
}

// ---- parent -------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** POST and read: `firstAt` when `isFirst` first matches a chunk's text so far, `endAt` at the end. */
function measure(target: Target, isFirst: (text: string) => boolean): Promise<{ first: number; total: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    let first = -1;
    let bytes = 0;
    let seen = "";
    const req = http.request(target.url, { method: "POST", headers: target.headers, agent }, (res) => {
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (first < 0) {
          seen += chunk.toString("utf8");
          if (isFirst(seen)) first = performance.now() - began;
        }
      });
      // A refusal (a JSON error) has no text: fail the bench rather than report a figure for it.
      if ((res.statusCode ?? 0) >= 300) reject(new Error(`${target.url} answered ${res.statusCode}`));
      res.on("end", () => (first < 0 ? reject(new Error(`${target.url}: no text in the answer`)) : resolve({ first, total: performance.now() - began, bytes })));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(target.body);
  });
}

function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, RELAY_BENCH_CHILD: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.on("exit", (code) => reject(new Error(`simulator child exited (${code})`)));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

export default async function run(): Promise<void> {
  const { child, url } = await startChild();
  try {
    const config: RelayChildConfig = { simUrl: url };
    await withChild<RelayChildReady, void>({ entry: "relay-child.ts", configEnv: "CODEX_BENCH_RELAY_CHILD", config, startTimeoutMs: 30_000 }, (relayChild) =>
      measureAll(url, relayChild),
    );
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
  }
}

async function measureAll(url: string, relayChild: Child<RelayChildReady>): Promise<void> {
  const relayBase = relayChild.baseUrl;
  // Sign a browser session in through the relay (the simulator approves on the first poll).
  const call = async (path: string, method: string, cookie?: string) => {
    const res = await fetch(`${relayBase}${path}`, {
      method,
      headers: { "sec-fetch-site": "same-origin", ...(cookie ? { cookie } : {}) },
    });
    await res.text();
    return res.headers.get("set-cookie")?.split(";")[0];
  };
  // Each step may rotate the session id (login start, then sign-in): keep the newest cookie.
  let cookie = await call("/session", "POST");
  cookie = (await call("/login/start", "POST", cookie)) ?? cookie;
  cookie = (await call("/status", "GET", cookie)) ?? cookie;

  // The direct path needs the same kind of credentials: a runner-level login of its own.
  const runner = directRunner({ issuer: url, backendBaseUrl: `${url}/backend-api` });
  const ctx: RunnerContext = { id: "bench", data: {} };
  const start = await runner.startDeviceLogin(ctx);
  if (start.status !== "started") throw new Error("direct login did not start");
  await runner.getStatus(ctx);
  const tokens = (ctx.data.direct as { tokens: { accessToken: string; accountId: string } }).tokens;

  const relay = (prompt: string): Target => ({
    url: `${relayBase}/run/stream`,
    headers: { "content-type": "application/json", "sec-fetch-site": "same-origin", cookie: cookie ?? "" },
    body: JSON.stringify({ prompt }),
  });
  const direct = (prompt: string): Target => ({
    url: `${url}/backend-api/codex/responses`,
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      authorization: `Bearer ${tokens.accessToken}`,
      "chatgpt-account-id": tokens.accountId,
    },
    body: JSON.stringify({
      model: "bench-model",
      instructions: "x",
      input: [{ type: "message", role: "user", content: [{ type: "input_text", text: prompt }] }],
      store: false,
      stream: true,
    }),
  });
  const firstDelta = (text: string) => text.includes("response.output_text.delta");
  const firstLine = (text: string) => text.includes('"assistant-text"');

  // Direct reading includes SSE parsing, as any consumer would.
  const parseAll = async (target: Target) => {
    const began = performance.now();
    let deltas = 0;
    const parser = createParser({ onEvent: (e) => void (e.data.includes("output_text.delta") && deltas++) });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(target.url, { method: "POST", headers: target.headers, agent }, (res) => {
        res.setEncoding("utf8");
        res.on("data", (s: string) => parser.feed(s));
        res.on("end", () => resolve());
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(target.body);
    });
    return { total: performance.now() - began, deltas };
  };

  // Warm up both paths (JIT, keep-alive sockets, the session's model cache).
  for (let i = 0; i < 5; i++) {
    await measure(direct("ttfb"), firstDelta);
    await measure(relay("ttfb"), firstLine);
  }

  const ttfb = { direct: [] as number[], relay: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    ttfb.direct.push((await measure(direct("ttfb"), firstDelta)).first);
    ttfb.relay.push((await measure(relay("ttfb"), firstLine)).first);
  }

  const bulk = { direct: [] as number[], relay: [] as number[], relayBytes: 0, deltas: 0 };
  await parseAll(direct("bulk"));
  await measure(relay("bulk"), firstLine);
  for (let i = 0; i < BULK_ROUNDS; i++) {
    const d = await parseAll(direct("bulk"));
    bulk.direct.push(d.total);
    bulk.deltas = d.deltas;
    const r = await measure(relay("bulk"), firstLine);
    bulk.relay.push(r.total);
    bulk.relayBytes = r.bytes;
  }

  const stall = await stalledClient(relay("huge"), relayChild);

  const dT = median(ttfb.direct);
  const rT = median(ttfb.relay);
  // Paired rounds: the median of per-round differences is less sensitive to load from other processes.
  const extra = median(ttfb.relay.map((r, i) => r - (ttfb.direct[i] ?? r)));
  if (process.env.RELAY_DEBUG) {
    const show = (xs: number[]) => [...xs].sort((a, b) => a - b).map((x) => x.toFixed(1)).join(" ");
    console.log(`direct: ${show(ttfb.direct)}\nrelay:  ${show(ttfb.relay)}`);
  }
  const dB = median(bulk.direct);
  const rB = median(bulk.relay);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(", ")} (${cpus().length} CPUs)`);
  console.log(`relay = Node adapter → handler → directRunner → simulator, each in its own process; direct = the same client straight to the simulator`);
  console.log(`time to first text, 200-delta answer (median of ${ROUNDS}): direct ${fmt(dT)}, relay ${fmt(rT)}; relay − direct per round: median +${fmt(extra)} — target ≤ +3 ms: ${extra <= 3 ? "met" : "MISSED"}; best round each: direct ${fmt(Math.min(...ttfb.direct))}, relay ${fmt(Math.min(...ttfb.relay))}`);
  console.log(`total, ${(20_000 * 52 / MB).toFixed(2)} MiB in ${bulk.deltas} deltas (median of ${BULK_ROUNDS}): direct ${fmt(dB)}, relay ${fmt(rB)} (${(bulk.relayBytes / MB).toFixed(2)} MiB NDJSON), ${(rB / dB).toFixed(2)}× — target ≤ 6×: ${rB / dB <= 6 ? "met" : "MISSED"}`);
  console.log(`stalled client on a 28 MiB answer (${STALL_MS} ms stall after the first chunk): RSS growth max ${(stall.stallGrowth / MB).toFixed(1)} MiB during the stall (${stall.heap}) — target ≤ 20 MiB: ${stall.stallGrowth <= 20 * MB ? "met" : "MISSED"}; ${(stall.wholeGrowth / MB).toFixed(1)} MiB max over the whole read; ${(stall.bytes / MB).toFixed(1)} MiB relayed in ${fmt(stall.total)} once it read again`);
}

/** Read the first chunk, stop reading for STALL_MS (the relay child sampling its RSS), then read to the end. */
async function stalledClient(
  target: Target,
  relayChild: Child<RelayChildReady>,
): Promise<{ stallGrowth: number; wholeGrowth: number; heap: string; bytes: number; total: number }> {
  await memory(relayChild, "start", "whole");
  let stall: MemoryWindow | undefined;
  const read = await new Promise<{ bytes: number; total: number }>((resolve, reject) => {
    const began = performance.now();
    let bytes = 0;
    const req = http.request(target.url, { method: "POST", headers: target.headers, agent }, (res) => {
      res.once("data", (chunk: Buffer) => {
        bytes += chunk.length;
        res.pause();
        void memory(relayChild, "start", "stall").then(() =>
          setTimeout(() => {
            void memory(relayChild, "stop", "stall").then((window) => {
              stall = window;
              res.on("data", (c: Buffer) => void (bytes += c.length));
              res.resume();
            }, reject);
          }, STALL_MS),
        );
      });
      res.on("end", () => resolve({ bytes, total: performance.now() - began }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(target.body);
  });
  const whole = await memory(relayChild, "stop", "whole");
  if (!stall) throw new Error("the stall window was not measured");
  const heap = `heapUsed ${(stall.heapUsed / MB).toFixed(1)} MiB, external ${(stall.external / MB).toFixed(1)} MiB at the end of the stall`;
  // A collection during the stall can leave the peak below the base: no growth.
  return { stallGrowth: Math.max(0, stall.peak - whole.base), wholeGrowth: Math.max(0, whole.peak - whole.base), heap, ...read };
}

/** Ask the relay child to start or stop a memory window; "stop" answers with its figures. */
function memory(relayChild: Child<RelayChildReady>, action: "start" | "stop", window: string): Promise<MemoryWindow> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const reply = m as MemoryWindow & { started?: boolean };
      if (reply.window !== window) return;
      relayChild.process.off("message", onMessage);
      resolve(reply);
    };
    relayChild.process.on("message", onMessage);
    relayChild.process.send({ memory: action, window });
  });
}
