/**
 * The relay of bench/relay.bench.ts, in a process of its own as a backend is:
 * node:http → Node adapter → handler → directRunner → the simulator at
 * `simUrl`. The bench's client would otherwise share the relay's event loop,
 * doing on the relay's thread the reading a browser does elsewhere.
 *
 * Besides "cpu" and "stop", it answers `{ memory: "start" | "stop", window }`:
 * "start" notes the RSS now and begins sampling the peak every 20 ms for that
 * window; "stop" replies with the window's base and peak RSS and the heap now.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeListener } from "../src/backend/adapters/node.js";
import { createCodexHandler } from "../src/backend/core/handler.js";
import { directRunner } from "../src/backend/direct.js";
import { answerBench } from "./child-parts.js";

export interface RelayChildConfig {
  simUrl: string;
}
export interface RelayChildReady {
  baseUrl: string;
}
export interface MemoryWindow {
  window: string;
  base: number;
  peak: number;
  heapUsed: number;
  external: number;
}

const config = JSON.parse(process.env.CODEX_BENCH_RELAY_CHILD ?? "{}") as RelayChildConfig;
const handler = createCodexHandler({
  runner: directRunner({ issuer: config.simUrl, backendBaseUrl: `${config.simUrl}/backend-api` }),
  cookieSecret: "Zq8#vL2!mX9@pR4$tW7^bN1&kD6*hF3%",
  cookieOptions: { secure: false },
  rateLimits: false,
});
const server = createServer(toNodeListener(handler));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

const windows = new Map<string, { base: number; peak: number; timer: ReturnType<typeof setInterval> }>();
process.on("message", (m) => {
  const message = m as { memory?: "start" | "stop"; window?: string };
  const name = message.window ?? "";
  if (message.memory === "start") {
    const base = process.memoryUsage.rss();
    const entry = { base, peak: base, timer: setInterval(() => (entry.peak = Math.max(entry.peak, process.memoryUsage.rss())), 20) };
    windows.set(name, entry);
    process.send?.({ window: name, started: true });
  } else if (message.memory === "stop") {
    const entry = windows.get(name);
    if (entry) clearInterval(entry.timer);
    windows.delete(name);
    const { heapUsed, external } = process.memoryUsage();
    const rss = process.memoryUsage.rss();
    const reply: MemoryWindow = { window: name, base: entry?.base ?? rss, peak: Math.max(entry?.peak ?? rss, rss), heapUsed, external };
    process.send?.(reply);
  }
});
answerBench(() => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
process.send?.({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/codex` } satisfies RelayChildReady);
