/**
 * Run the real codex CLI (node_modules/.bin/codex) against a local simulator, sealed off
 * from the internet: each session has its own temp CODEX_HOME and HOME, proxies point at a
 * dead loopback port, and where `unshare -n` works the CLI runs in a private network
 * namespace whose only route to the simulator is a relay over a Unix socket.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const CODEX_BIN = resolve("node_modules/.bin/codex");

/** Remove ANSI colour codes (the CLI always colours its device-code banner). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}

/** The one-time code printed by `codex login --device-auth`, if it is there yet. */
export function findUserCode(stdout: string): string | undefined {
  return /\b([A-Z0-9]{4}-[A-Z0-9]{4,6})\b/.exec(stripAnsi(stdout))?.[1];
}

/** Flags that point the codex binary (`exec` or `app-server`) at the simulator's backend and silence optional calls. */
export function simulatorArgs(simUrl: string): string[] {
  const port = new URL(simUrl).port;
  return [
    // Two origins on purpose: with one, workspace routing sends the turn to chatgpt.com.
    "-c",
    `chatgpt_base_url="http://127.0.0.1:${port}/backend-api/"`,
    "-c",
    `openai_base_url="http://localhost:${port}/backend-api/codex"`,
    "--disable",
    "apps",
    "--disable",
    "plugins",
    "--disable",
    "remote_plugin",
    "-c",
    "analytics.enabled=false",
  ];
}

/** Arguments that point `codex exec` at the simulator's backend and silence optional calls. */
export function execArgs(simUrl: string): string[] {
  return ["exec", "--json", "--skip-git-repo-check", ...simulatorArgs(simUrl), "-"];
}

let netnsAvailable: boolean | undefined;

/** Can this machine give a child its own network namespace (loopback only)? */
export function canUseNetns(): boolean {
  if (netnsAvailable === undefined) {
    const probe = spawnSync("unshare", ["-n", "sh", "-c", "ip link set lo up"], { timeout: 5000 });
    netnsAvailable = probe.status === 0;
  }
  return netnsAvailable;
}

/**
 * Runs inside the namespace: listen on the simulator's port (127.0.0.1 and ::1), relay each
 * connection to the Unix socket, then run the CLI and exit with its status.
 */
export const RELAY_SCRIPT = `
const net = require("node:net");
const { spawn } = require("node:child_process");
const [port, socketPath, ...command] = process.argv.slice(2);
const relay = (client) => {
  const upstream = net.createConnection(socketPath);
  client.pipe(upstream).pipe(client);
  const drop = () => { client.destroy(); upstream.destroy(); };
  client.on("error", drop); upstream.on("error", drop);
};
const servers = ["127.0.0.1", "::1"].map((host) => {
  const server = net.createServer(relay);
  return new Promise((done) => { server.once("error", () => done()); server.listen(Number(port), host, () => done()); });
});
Promise.all(servers).then(() => {
  const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
});
`;

/** The outcome of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A running CLI process: read its output as it comes, wait for its end, or kill it. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (ANSI stripped), or rejects after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<CliResult>;
  kill(): void;
}

/** One isolated CLI environment bound to one simulator. */
export interface CodexCliSession {
  readonly home: string;
  readonly isolatedNetwork: boolean;
  start(args: string[], options?: { stdin?: string; timeoutMs?: number }): CliProcess;
  run(args: string[], options?: { stdin?: string; timeoutMs?: number }): Promise<CliResult>;
  /** Kill every process this session started and remove its folder. */
  cleanup(): Promise<void>;
}

/** Forward a Unix socket to the simulator's TCP port (the namespace's only way out). */
export async function unixBridge(socketPath: string, port: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port });
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
  });
  await new Promise<void>((done) => server.listen(socketPath, done));
  return server;
}

const DEAD_PROXY = "http://127.0.0.1:9";
/** Proxy settings that send anything not on loopback to a dead port: the CLI can only reach the simulator. */
export const NO_INTERNET_ENV: Readonly<Record<string, string>> = {
  HTTPS_PROXY: DEAD_PROXY,
  HTTP_PROXY: DEAD_PROXY,
  ALL_PROXY: DEAD_PROXY,
  https_proxy: DEAD_PROXY,
  http_proxy: DEAD_PROXY,
  NO_PROXY: "127.0.0.1,localhost",
  no_proxy: "127.0.0.1,localhost",
};

/** Create a session: temp CODEX_HOME, dead proxies, and (if possible) a private network namespace. */
export async function createCodexSession(simUrl: string): Promise<CodexCliSession> {
  const home = mkdtempSync(join(tmpdir(), "codex-cli-"));
  const port = Number(new URL(simUrl).port);
  const isolatedNetwork = canUseNetns();
  let bridge: Server | undefined;
  const socketPath = join(home, "sim.sock");
  if (isolatedNetwork) {
    bridge = await unixBridge(socketPath, port);
    writeFileSync(join(home, "relay.cjs"), RELAY_SCRIPT);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: home,
    CODEX_HOME: home,
    ...NO_INTERNET_ENV,
    CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${simUrl}/oauth/revoke`,
    NO_COLOR: "1",
    TERM: "dumb",
  };
  const processes = new Set<CliProcess>();

  function start(args: string[], options: { stdin?: string; timeoutMs?: number } = {}): CliProcess {
    const [command, commandArgs] = isolatedNetwork
      ? ["unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', process.execPath, join(home, "relay.cjs"), String(port), socketPath, CODEX_BIN, ...args]]
      : [CODEX_BIN, args];
    // Own process group, so a kill reaches the wrapper and the native binary alike.
    const child = spawn(command, commandArgs as string[], { env, cwd: home, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const listeners = new Set<() => void>();
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      for (const listener of listeners) listener();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.stdin ?? "");
    const kill = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs ?? 30_000);
    const done = new Promise<CliResult>((resolveDone) => {
      child.on("close", (code) => {
        clearTimeout(timer);
        resolveDone({ code, stdout: out, stderr: err, timedOut });
      });
    });
    const handle: CliProcess = {
      child,
      stdout: () => out,
      stderr: () => err,
      done,
      kill,
      waitForStdout(pattern, timeoutMs = 15_000) {
        return new Promise((resolveMatch, reject) => {
          const check = () => {
            const match = pattern.exec(stripAnsi(out));
            if (!match) return false;
            listeners.delete(check);
            clearTimeout(giveUp);
            resolveMatch(match);
            return true;
          };
          const giveUp = setTimeout(() => {
            listeners.delete(check);
            reject(new Error(`timed out waiting for ${pattern} in stdout: ${stripAnsi(out)} / stderr: ${err}`));
          }, timeoutMs);
          listeners.add(check);
          if (!check()) void done.then(() => check());
        });
      },
    };
    processes.add(handle);
    void done.then(() => processes.delete(handle));
    return handle;
  }

  return {
    home,
    isolatedNetwork,
    start,
    run: (args, options) => start(args, options).done,
    async cleanup() {
      for (const handle of processes) handle.kill();
      await Promise.all([...processes].map((handle) => handle.done));
      await new Promise<void>((done) => (bridge ? bridge.close(() => done()) : done()));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Where `unshare -n` works: a wrapper that runs each command in a private network namespace whose
 * only way out is a relay (over a Unix socket under `dir`) to the simulator's port. Elsewhere: no
 * wrapper (the caller's NO_INTERNET_ENV proxies are the fence).
 */
export async function loopbackOnlyWrap(
  dir: string,
  simUrl: string,
): Promise<{ wrap: ((command: string, args: string[]) => [string, string[]]) | undefined; isolatedNetwork: boolean; close(): Promise<void> }> {
  const port = new URL(simUrl).port;
  if (!canUseNetns()) return { wrap: undefined, isolatedNetwork: false, close: async () => undefined };
  const socketPath = join(dir, "sim.sock");
  const relayPath = join(dir, "relay.cjs");
  writeFileSync(relayPath, RELAY_SCRIPT);
  const relay = await unixBridge(socketPath, Number(port));
  return {
    wrap: (command, args) => ["unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', process.execPath, relayPath, port, socketPath, command, ...args]],
    isolatedNetwork: true,
    close: () => new Promise<void>((done) => relay.close(() => done())),
  };
}
