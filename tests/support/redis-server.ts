import { spawn, type ChildProcess } from "node:child_process";
import { createClient } from "redis";
import { afterAll, beforeAll } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

/** A throwaway Redis server for one test file. */
export interface RedisServer {
  url: string;
  port: number;
  /** The redis-server process, for outage tests that signal it (SIGKILL, SIGSTOP, SIGCONT). */
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Default: a free port. */
  port?: number;
  /** A config file's text, written to the server's folder and passed first (Sentinel needs a file it can rewrite). */
  config?: string;
  /** More arguments, e.g. `["--replicaof", "127.0.0.1", "6379"]` or `["--sentinel"]`. */
  args?: string[];
}

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

/**
 * Spawns Debian's redis-server on a free loopback port with persistence off and
 * waits until it answers PING. `stop()` kills it and removes its temp folder.
 *
 * @example
 * const redis = await startRedisServer();
 * const client = await createClient({ url: redis.url }).connect();
 * // … afterAll: await client.quit(); await redis.stop();
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // A given port restarts "the same" Redis after an outage test killed it.
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), "codex-auth-redis-"));
  const config = options.config === undefined ? [] : [join(dir, "redis.conf")];
  if (options.config !== undefined) await writeFile(config[0] as string, options.config);
  const child = spawn(
    REDIS_BIN,
    [...config, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // If the test process dies before stop(), do not leave a server behind.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  const stop = async (): Promise<void> => {
    process.off("exit", killOnExit);
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPong(port, child, 10_000);
  } catch (error) {
    await stop();
    throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
  return { url: `redis://127.0.0.1:${port}`, port, child, stop };
}

async function waitForPong(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("timed out waiting for PONG");
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** A connected node-redis client. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * A Redis server and a connected client for one test file: started in
 * beforeAll, closed in afterAll. Read them once the tests run.
 *
 * @example
 * const redis = useRedis();
 * it("…", async () => { await redis.client.ping(); });
 */
export function useRedis(): { readonly server: RedisServer; readonly client: RedisClient } {
  let server: RedisServer | undefined;
  let client: RedisClient | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    client = createClient({ url: server.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.quit();
    await server?.stop();
  });
  return {
    get server() {
      if (server === undefined) throw new Error("useRedis: the server starts in beforeAll");
      return server;
    },
    get client() {
      if (client === undefined) throw new Error("useRedis: the client connects in beforeAll");
      return client;
    },
  };
}
