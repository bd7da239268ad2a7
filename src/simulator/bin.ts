#!/usr/bin/env node
/**
 * `codex-auth-simulator`: run the upstream simulator standalone.
 *
 * @example
 * codex-auth-simulator --port 8787 --interval 1 --auto-approve 1
 */
import { parseArgs } from "node:util";
import { quickStartText } from "./quick-start.js";
import { startSimulator } from "./simulator.js";
import type { SimulatorOptions } from "./types.js";

const USAGE = `Usage: codex-auth-simulator [--port N] [--host H] [--interval S] [--code-ttl S]
                            [--access-ttl S] [--auto-approve N] [--slow-stream MS]
                            [--verbose] [--quiet]
Starts a local stand-in for auth.openai.com and the Codex backend, prints its URL (the first line) and the
server and client lines that point an app at it (--quiet: the URL only), runs until SIGINT/SIGTERM.`;

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      interval: { type: "string" },
      "code-ttl": { type: "string" },
      "access-ttl": { type: "string" },
      "auto-approve": { type: "string" },
      "slow-stream": { type: "string" },
      verbose: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options: SimulatorOptions = {
    port: numberOption(values.port, "port") ?? 0,
    host: values.host ?? "127.0.0.1",
    interval: numberOption(values.interval, "interval"),
    codeTtlSeconds: numberOption(values["code-ttl"], "code-ttl"),
    accessTokenTtlSeconds: numberOption(values["access-ttl"], "access-ttl"),
    autoApprove: numberOption(values["auto-approve"], "auto-approve"),
  };
  if (values.verbose) {
    // Method and path only: bodies and headers carry tokens.
    options.onRequest = (info) => process.stderr.write(`${info.method} ${info.url} -> ${info.endpoint}\n`);
  }
  const sim = await startSimulator(options);
  // Wait this long between an answer's deltas, to watch it stream in.
  const deltaDelayMs = numberOption(values["slow-stream"], "slow-stream");
  if (deltaDelayMs !== undefined) sim.fault("slow-stream", { delayMs: deltaDelayMs });
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  // Before printing: whoever reads the URL may stop us at once.
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.stdout.write(`${sim.url}\n`);
  if (!values.quiet) process.stdout.write(quickStartText(sim.url));
}

main().catch((error: unknown) => {
  process.stderr.write(`codex-auth-simulator: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(2);
});
