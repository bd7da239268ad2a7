/**
 * The server child processes of bench/server.bench.ts and bench/redis.bench.ts:
 * built as the package is, started, asked for their CPU time, stopped. A
 * child runs in a process of its own so that autocannon, here, does not share
 * its event loop.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** A started child: what it sent when ready, and its process. */
export type Child<Ready> = Ready & { process: ChildProcess };

export interface ChildOptions {
  /** The child's file in bench/, e.g. "server-child.ts". */
  entry: string;
  /** The environment variable the child reads its JSON config from. */
  configEnv: string;
  config: unknown;
  /** Node flags for the child; by default this process's own. */
  execArgv?: string[];
  /** Fail when the child has not said it is ready within this time (by default, wait). */
  startTimeoutMs?: number;
}

/** Runs `body` with the child started and ready; stops the child afterwards, killing it if it does not exit within 5 s. */
export async function withChild<Ready, T>(options: ChildOptions, body: (child: Child<Ready>) => Promise<T>): Promise<T> {
  const child = fork(await builtChild(options.entry), [], {
    ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv }),
    env: { ...process.env, [options.configEnv]: JSON.stringify(options.config) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const ready = await new Promise<Ready>((resolve, reject) => {
      const limit = options.startTimeoutMs;
      const timer = limit === undefined ? undefined : setTimeout(() => reject(new Error(`bench server did not start in ${limit / 1000} s`)), limit);
      child.once("message", (m) => {
        clearTimeout(timer);
        resolve(m as Ready);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`bench server exited early (${code})`));
      });
    });
    return await body({ ...ready, process: child });
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    if (child.connected) child.send("stop"); // a graceful exit lets --cpu-prof write its file
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** The child's CPU time so far (user + system), in µs, asked over IPC. */
export function childCpuMicros(child: Child<unknown>): Promise<number> {
  return new Promise((resolve) => {
    child.process.once("message", (m) => resolve((m as { cpuMicros: number }).cpuMicros));
    child.process.send("cpu");
  });
}

const built = new Map<string, Promise<string>>();

/**
 * The child compiled the way the package is (esbuild, ES2022, no keepNames:
 * what tsup ships), not run through tsx, whose transform wraps every closure
 * made per request in a naming call that the published code never has.
 * Packages stay external, resolved from this repository's node_modules.
 */
function builtChild(entry: string): Promise<string> {
  let outfile = built.get(entry);
  if (outfile === undefined) {
    outfile = (async () => {
      const path = fileURLToPath(new URL(`../node_modules/.cache/codex-auth-bench/${entry.replace(/\.ts$/, ".mjs")}`, import.meta.url));
      await build({
        entryPoints: [fileURLToPath(new URL(`./${entry}`, import.meta.url))],
        outfile: path,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "es2022",
        packages: "external",
        logLevel: "warning",
      });
      return path;
    })();
    built.set(entry, outfile);
  }
  return outfile;
}
