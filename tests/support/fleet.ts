/**
 * Several backend instances in one test process: each a handler with its own
 * directRunner (so its own in-process flights, logins and run locks), all on
 * one session store and one simulator. With the Redis store they coordinate
 * only through Redis, as separate processes would; with one memory store, as
 * handlers of one process do. A browser stand-in keeps one cookie and sends
 * each request to the instance it names (no sticky sessions).
 */
import { createCodexHandler, type CodexHandler } from "../../src/backend/core/handler.js";
import { resolveOptions, type CodexHandlerOptions } from "../../src/backend/core/options.js";
import { directRunner } from "../../src/backend/direct.js";
import type { DirectRunnerOptions } from "../../src/backend/runners/direct/options.js";
import type { CodexRunner } from "../../src/backend/runners/types.js";
import { SessionManager, type ActiveSession } from "../../src/backend/sessions/session-manager.js";
import type { SessionStore } from "../../src/backend/sessions/types.js";
import type { RunEvent } from "../../src/contract.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";
import { skewClock, type SkewClock } from "./clock.js";

export const FLEET_ORIGIN = "http://app.test";
export const FLEET_SECRET = "f3#Lq8!nW2@xZ7$kP5^tR1&mV9*cJ4%h";

export interface Instance {
  runner: CodexRunner;
  handler: CodexHandler;
  /** The instance's own session manager, for tests that drive the runner below the handler. */
  sessions: SessionManager;
  store: SessionStore;
}

export interface Fleet {
  sim: Simulator;
  /** Shared by the simulator and every runner: `advance` expires tokens everywhere at once. */
  clock: SkewClock;
  instances: Instance[];
  /** A browser with its own cookie jar. */
  browser(): FleetBrowser;
  close(): Promise<void>;
}

export interface FleetOptions {
  size: number;
  /** Called once per instance: the same store object (memory) or one store per instance on the same Redis. */
  store: (index: number) => SessionStore;
  sim?: SimulatorOptions;
  runner?: DirectRunnerOptions;
  handler?: Partial<CodexHandlerOptions>;
}

/**
 * @example
 * const fleet = await startFleet({ size: 3, store: () => createRedisSessionStore({ client, prefix }) });
 * const browser = fleet.browser();
 * await browser.signIn(fleet.sim);
 * await browser.run("hi", 2); // on the third instance
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const clock = skewClock();
  const sim = await startSimulator({ interval: 1, now: clock.now, ...options.sim });
  const instances = Array.from({ length: options.size }, (_, index): Instance => {
    const runner = directRunner({
      issuer: sim.url,
      backendBaseUrl: `${sim.url}/backend-api`,
      retryBaseDelayMs: 5,
      now: clock.now,
      ...options.runner,
    });
    const store = options.store(index);
    const handlerOptions: CodexHandlerOptions = {
      runner,
      cookieSecret: FLEET_SECRET,
      cookieOptions: { secure: false },
      rateLimits: false,
      sessionStore: store,
      ...options.handler,
    };
    return { runner, handler: createCodexHandler(handlerOptions), sessions: new SessionManager(resolveOptions(handlerOptions)), store };
  });
  return {
    sim,
    clock,
    instances,
    browser: () => new FleetBrowser(instances),
    close: () => sim.close(),
  };
}

/** A browser stand-in: one cookie, same-origin requests, each sent to the instance named by index. */
export class FleetBrowser {
  cookie: string | undefined;

  constructor(private readonly instances: Instance[]) {}

  async request(path: string, via: number, init: { method?: string; body?: unknown; ip?: string } = {}): Promise<Response> {
    const instance = this.instances[via % this.instances.length] as Instance;
    const response = await instance.handler(this.#request(path, init), { clientIp: init.ip ?? "127.0.0.1" });
    const setCookie = response.headers.get("set-cookie");
    if (setCookie) {
      const pair = setCookie.split(";")[0] ?? "";
      this.cookie = /=$/.test(pair) || /max-age=0/i.test(setCookie) ? undefined : pair;
    }
    return response;
  }

  async json(path: string, via: number, init: { method?: string; body?: unknown; ip?: string } = {}): Promise<{ status: number; body: any }> {
    const response = await this.request(path, via, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** POST /run/stream on instance `via`, read to the end. */
  async run(prompt: string, via: number): Promise<{ status: number; events: RunEvent[]; body: any }> {
    return readRun(await this.request("/run/stream", via, { method: "POST", body: { prompt } }));
  }

  /** Signs in through instance `via`: /session, /login/start, approval upstream, /status until signed in. */
  async signIn(sim: Simulator, via = 0): Promise<void> {
    await this.json("/session", via, { method: "POST" });
    const start = await this.json("/login/start", via, { method: "POST" });
    if (!start.body?.userCode) throw new Error(`login did not start: ${JSON.stringify(start.body)}`);
    if (!sim.approve(start.body.userCode)) throw new Error("approve failed");
    for (let attempt = 0; attempt < 100; attempt++) {
      const status = await this.json("/status", via);
      if (status.body?.ok === true) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("never signed in");
  }

  /** The session this browser's cookie names, as instance `via` loads it (a request's own copy). */
  async load(via: number): Promise<ActiveSession> {
    const instance = this.instances[via % this.instances.length] as Instance;
    const found = await instance.sessions.lookup(this.#request("/status", {}));
    if (found.kind !== "active") throw new Error(`no active session: ${found.kind}`);
    return found.session;
  }

  #request(path: string, init: { method?: string; body?: unknown }): Request {
    const headers: Record<string, string> = { origin: FLEET_ORIGIN, "sec-fetch-site": "same-origin" };
    if (this.cookie) headers.cookie = this.cookie;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    return new Request(`${FLEET_ORIGIN}/api/codex${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }
}

/** A /run/stream answer read to the end: NDJSON events, or the JSON error body. */
/** The rest of a streamed body, as text, once the stream has ended (a run cut short by logout ends it too). */
export async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) return text + decoder.decode();
    text += decoder.decode(chunk.value, { stream: true });
  }
}

export async function readRun(response: Response): Promise<{ status: number; events: RunEvent[]; body: any }> {
  const text = await response.text();
  if (response.headers.get("content-type")?.includes("ndjson")) {
    return { status: response.status, events: text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as RunEvent), body: undefined };
  }
  return { status: response.status, events: [], body: text ? JSON.parse(text) : undefined };
}
