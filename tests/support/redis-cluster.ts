/**
 * A throwaway Redis Cluster on loopback: three primaries started with
 * `--cluster-enabled yes`, joined by `redis-cli --cluster create`, slots
 * spread over all three. For the Cluster runs of the store and fleet suites.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "./free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createCluster } from "redis";

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? "/usr/bin/redis-cli";
const run = promisify(execFile);

export interface RedisCluster {
  /** One `redis://127.0.0.1:PORT` per primary. */
  urls: string[];
  stop(): Promise<void>;
}

/** A connected node-redis cluster client. */
export type RedisClusterClient = ReturnType<typeof createCluster>;

/**
 * Starts `nodes` primaries (default 3, the least `--cluster create` accepts) and waits until the cluster says ok.
 *
 * @example
 * const cluster = await startRedisCluster();
 * const client = await createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) }).connect();
 */
export async function startRedisCluster(nodes = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "codex-auth-cluster-"));
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const stop = async (): Promise<void> => {
    process.off("exit", killAll);
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < nodes; i++) {
      const port = await freePort();
      ports.push(port);
      // Each node keeps its cluster state in a file of its own, in the temp folder.
      const child = spawn(
        REDIS_BIN,
        [
          "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
          "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "2000",
        ],
        { stdio: "ignore" },
      );
      children.push(child);
    }
    for (const port of ports) await waitFor(async () => (await cli(port, "PING")) === "PONG", `node ${port} to answer`);
    await run(REDIS_CLI, ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 30_000 });
    for (const port of ports) {
      await waitFor(async () => (await cli(port, "CLUSTER", "INFO")).includes("cluster_state:ok"), `node ${port} to see the cluster ok`);
    }
    return { urls: ports.map((port) => `redis://127.0.0.1:${port}`), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5_000 });
    return stdout.trim();
  } catch {
    return "";
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL"); // nothing to keep: persistence is off
  });
}
