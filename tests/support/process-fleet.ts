/**
 * Several backend processes on one Redis, behind a round-robin proxy, with one
 * simulator upstream: what production looks like without sticky sessions.
 * Each instance is a real process (tests/support/process-fleet-instance.ts) that can
 * be killed with SIGKILL; Redis is a real server the test can stop or freeze.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { RunEvent } from "../../src/contract.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { cookieAfter } from "./cookie-jar.js";
import type { FleetInstanceConfig, FleetInstanceReady } from "./process-fleet-instance.js";
import { startRedisCluster } from "./redis-cluster.js";
import { startRedisServer, type RedisServer } from "./redis-server.js";
import { eventually } from "./until.js";

const SECRET = "f7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x";
const INSTANCE = fileURLToPath(new URL("./process-fleet-instance.ts", import.meta.url));

export interface FleetInstance {
  readonly name: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Requests the proxy sent it. */
  served: number;
}

export interface Fleet {
  readonly url: string;
  readonly sim: Simulator;
  /** The one Redis server (absent on a cluster fleet). */
  readonly redis: RedisServer | undefined;
  /** Starts the one Redis server again on its port (after a test killed it), empty, as a restarted Redis without persistence is. */
  restartRedis(): Promise<void>;
  /** Resolves once every live instance makes a session again (its Redis client has reconnected). */
  ready(): Promise<void>;
  /** Every Redis URL the fleet uses: one server, or each primary of the cluster. */
  readonly redisUrls: string[];
  readonly instances: FleetInstance[];
  /** Instances the proxy still sends to (a killed one leaves, as after a failed health check). */
  readonly live: FleetInstance[];
  /** A new browser stand-in with its own cookie jar, talking to the proxy. */
  client(): FleetClient;
  /** SIGKILL an instance, and take it out of the proxy's rotation. */
  kill(instance: FleetInstance): Promise<void>;
  close(): Promise<void>;
}

export interface FleetOptions {
  instances?: number;
  sim?: SimulatorOptions;
  runner?: Record<string, unknown>;
  /** Run on a three-primary Redis Cluster instead of one server. */
  cluster?: boolean;
}

/**
 * Starts Redis, the simulator, `instances` backend processes (default 3) and
 * the proxy in front of them.
 *
 * @example
 * const fleet = await startFleet();
 * const browser = fleet.client();
 * await browser.signIn();
 */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  let redis = options.cluster === true ? undefined : await startRedisServer();
  const cluster = options.cluster === true ? await startRedisCluster() : undefined;
  const redisUrls = redis === undefined ? (cluster?.urls ?? []) : [redis.url];
  const stopRedis = async (): Promise<void> => {
    await redis?.stop();
    await cluster?.stop();
  };
  const sim = await startSimulator({ interval: 1, ...options.sim });
  const instances: FleetInstance[] = [];
  try {
    const count = options.instances ?? 3;
    const started = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        spawnInstance({
          name: `i${index + 1}`,
          redisUrl: redisUrls[0] ?? "",
          ...(cluster === undefined ? {} : { redisClusterUrls: cluster.urls }),
          simulatorUrl: sim.url, cookieSecret: SECRET, ...(options.runner === undefined ? {} : { runner: options.runner }) }),
      ),
    );
    instances.push(...started);
  } catch (error) {
    for (const instance of instances) instance.process.kill("SIGKILL");
    await sim.close();
    await stopRedis();
    throw error;
  }
  // A readiness probe, as a load balancer's health check: each instance has made a session (a store write and its
  // script loads) before any test traffic, so a cold first request on a loaded machine is not what a test measures.
  await Promise.all(instances.map((instance) => untilReady(instance)));
  const live = [...instances];
  const proxy = await startProxy(live);
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const fleet: Fleet = {
    url,
    sim,
    get redis() {
      return redis;
    },
    ready: () => Promise.all(live.map((instance) => untilReady(instance))).then(() => undefined),
    async restartRedis() {
      if (redis === undefined) throw new Error("restartRedis: this fleet runs on a cluster");
      const port = redis.port;
      await redis.stop(); // a killed server's folder and exit handler
      redis = await startRedisServer({ port });
    },
    redisUrls,
    instances,
    live,
    client: () => new FleetClient(url, sim),
    async kill(instance) {
      const index = live.indexOf(instance);
      if (index !== -1) live.splice(index, 1);
      if (instance.process.exitCode === null && instance.process.signalCode === null) {
        const exited = new Promise((resolve) => instance.process.once("exit", resolve));
        instance.process.kill("SIGKILL");
        await exited;
      }
    },
    async close() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await Promise.all(instances.map(stopInstance));
      await sim.close();
      await stopRedis();
    },
  };
  return fleet;
}

/** The instance process's resident set size in bytes, asked over IPC (for the load benchmark). */
export function instanceRss(instance: FleetInstance, timeoutMs = 5_000): Promise<number> {
  const child = instance.process;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      const rss = (message as { rss?: unknown } | null)?.rss;
      if (typeof rss !== "number") return;
      finish();
      resolve(rss);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`${instance.name} did not report its RSS in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
    };
    child.on("message", onMessage);
    child.send("rss");
  });
}

async function spawnInstance(config: FleetInstanceConfig): Promise<FleetInstance> {
  const child = fork(INSTANCE, [], {
    execArgv: ["--conditions=codex-auth-source", "--import", "tsx"],
    env: { ...process.env, FLEET_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const ready = await new Promise<FleetInstanceReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${config.name} did not start in 30 s`)), 30_000);
    child.once("message", (message) => {
      clearTimeout(timer);
      resolve(message as FleetInstanceReady);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${config.name} exited before it listened (${code ?? signal})`));
    });
  });
  return { name: ready.name, port: ready.port, process: child, served: 0 };
}

async function untilReady(instance: FleetInstance): Promise<void> {
  const origin = `http://127.0.0.1:${instance.port}`;
  await eventually(
    async () => {
      const response = await fetch(`${origin}/api/codex/session`, { method: "POST", headers: { origin, "sec-fetch-site": "same-origin" } });
      await response.arrayBuffer();
      return response.status === 200;
    },
    30_000,
    `${instance.name} ready`,
    100,
  );
}

async function stopInstance(instance: FleetInstance): Promise<void> {
  const child = instance.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  if (child.connected) child.send("stop");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Round robin over the live instances, streaming both ways; 502 when the chosen one fails. */
function startProxy(live: FleetInstance[]): Promise<Server> {
  let next = 0;
  const server = createServer((req, res) => {
    if (live.length === 0) {
      res.writeHead(503).end();
      return;
    }
    const target = live[next++ % live.length] as FleetInstance;
    target.served++;
    const upstream = httpRequest(
      { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.once("error", () => res.destroy());
      },
    );
    upstream.once("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("instance gone");
      else res.destroy();
    });
    res.once("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** A browser stand-in over real HTTP: one cookie jar, same-origin requests to the proxy. */
export class FleetClient {
  cookie: string | undefined;

  constructor(
    readonly url: string,
    private readonly sim: Simulator,
  ) {}

  async request(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { origin: this.url, "sec-fetch-site": "same-origin" };
    if (this.cookie !== undefined) headers.cookie = this.cookie;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.url}/api/codex${path}`, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    this.cookie = cookieAfter(response, this.cookie);
    return response;
  }

  async json(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const response = await this.request(path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      // not JSON (a proxy's own answer): keep the text
    }
    return { status: response.status, body };
  }

  /** POST /run/stream read to the end. */
  async run(prompt: string, signal?: AbortSignal): Promise<{ status: number; events: RunEvent[]; body: any }> {
    const response = await this.request("/run/stream", { method: "POST", body: { prompt }, ...(signal === undefined ? {} : { signal }) });
    const text = await response.text();
    if (!(response.headers.get("content-type") ?? "").includes("ndjson")) {
      return { status: response.status, events: [], body: text === "" ? undefined : JSON.parse(text) };
    }
    const events = text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as RunEvent);
    return { status: response.status, events, body: undefined };
  }

  /** POST /session, /login/start, approve upstream, poll /status until signed in. */
  async signIn(): Promise<void> {
    await this.json("/session", { method: "POST" });
    const start = await this.json("/login/start", { method: "POST" });
    const userCode = start.body?.userCode;
    if (typeof userCode !== "string") throw new Error(`login did not start: ${JSON.stringify(start.body)}`);
    if (!this.sim.approve(userCode)) throw new Error("approve failed");
    await eventually(async () => (await this.json("/status")).body?.ok === true, 15_000, "signed in");
  }
}
