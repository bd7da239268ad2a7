/**
 * Shared set-up of the directRunner tests: a real simulator, the real runner,
 * the real handler, and a cookie-keeping client that records everything it
 * receives (for the token-confinement checks).
 */
import { createCodexHandler, type CodexHandler } from "../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../src/backend/core/options.js";
import { directRunner } from "../../src/backend/direct.js";
import type { CodexRunner } from "../../src/backend/runners/types.js";
import type { DirectRunnerOptions } from "../../src/backend/runners/direct/options.js";
import type { RunEvent } from "../../src/contract.js";
import { startSimulator } from "../../src/simulator/index.js";
import type { Simulator, SimulatorOptions } from "../../src/simulator/index.js";
import { skewClock, type SkewClock } from "./clock.js";
import { cookieAfter } from "./cookie-jar.js";

export const ORIGIN = "http://app.test";
const SECRET = "k7#Qp2!vZ9@mW4$rT8^yB1&nL6*hD3%x";

export interface Harness {
  sim: Simulator;
  runner: CodexRunner;
  handler: CodexHandler;
  client: Client;
  /** Every upstream call the runner made: url and the signal it was given. */
  calls: Array<{ url: string; signal: AbortSignal | undefined }>;
  /** The clock the simulator and the runner share: `advance` passes a poll interval or a token's life at once. */
  clock: SkewClock;
  /** Every line the handler logged. */
  logs: string[];
  /** Fresh client (own cookie jar) on the same handler. */
  newClient(): Client;
  close(): Promise<void>;
}

export async function startHarness(
  simOptions: SimulatorOptions = {},
  runnerOptions: DirectRunnerOptions = {},
  handlerOptions: Partial<CodexHandlerOptions> = {},
): Promise<Harness> {
  const clock = skewClock();
  const sim = await startSimulator({ interval: 1, now: clock.now, ...simOptions });
  const calls: Harness["calls"] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    calls.push({ url: String(input), signal: init?.signal ?? undefined });
    return fetch(input, init);
  };
  const runner = directRunner({
    issuer: sim.url,
    backendBaseUrl: `${sim.url}/backend-api`,
    fetch: recordingFetch,
    retryBaseDelayMs: 5,
    now: clock.now,
    ...runnerOptions,
  });
  const { handler, logs } = handlerLoggingTo(runner, SECRET, handlerOptions);
  const clients: Client[] = [];
  const newClient = (): Client => {
    const client = new Client(handler);
    clients.push(client);
    return client;
  };
  return {
    sim,
    runner,
    handler,
    client: newClient(),
    calls,
    clock,
    logs,
    newClient,
    close: () => sim.close(),
  };
}

export interface Seen {
  status: number;
  headers: string;
  body: string;
}

/** A browser stand-in: keeps the session cookie, sends same-origin requests, records every answer. */
export class Client {
  cookie: string | undefined;
  readonly seen: Seen[] = [];

  constructor(private readonly handler: CodexHandler) {}

  async request(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { origin: ORIGIN, "sec-fetch-site": "same-origin" };
    if (this.cookie) headers.cookie = this.cookie;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const request = new Request(`${ORIGIN}/api/codex${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
    const response = await this.handler(request, { clientIp: "127.0.0.1" });
    this.cookie = cookieAfter(response, this.cookie);
    return response;
  }

  /** A JSON route: the parsed body, recorded. */
  async json(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const response = await this.request(path, init);
    const text = await response.text();
    this.record(response, text);
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  record(response: Response, body: string): void {
    this.seen.push({ status: response.status, headers: JSON.stringify([...response.headers]), body });
  }

  /** POST /run/stream read to the end: its events, recorded. */
  async run(prompt: string, extra: Record<string, unknown> = {}): Promise<{ status: number; events: RunEvent[]; body: string }> {
    const response = await this.request("/run/stream", { method: "POST", body: { prompt, ...extra } });
    const text = await response.text();
    this.record(response, text);
    const events = response.headers.get("content-type")?.includes("ndjson")
      ? text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as RunEvent)
      : [];
    return { status: response.status, events, body: text };
  }

  /** POST /session then /login/start, approve upstream, poll /status (every 100 ms, for up to `timeoutMs`) until signed in. */
  async signIn(sim: Simulator, account?: Parameters<Simulator["approve"]>[1], timeoutMs = 4_000): Promise<any> {
    await this.json("/session", { method: "POST" });
    const start = await this.json("/login/start", { method: "POST" });
    if (!start.body?.userCode) throw new Error(`login did not start: ${JSON.stringify(start.body)}`);
    if (!sim.approve(start.body.userCode, account)) throw new Error("approve failed");
    for (let i = 0; i < timeoutMs / 100; i++) {
      const status = await this.json("/status");
      if (status.body?.ok === true) return status.body;
      await sleep(100);
    }
    throw new Error("never signed in");
  }
}

/** The text of a run rebuilt from its events, as the client does. */
export function textOf(events: RunEvent[]): string {
  let text = "";
  for (const event of events) {
    if (event.type === "assistant-text") text = event.mode === "append" ? text + event.text : event.text;
  }
  return text;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The handler the runner tests drive: local HTTP cookies, no rate limits, and
 * every log line kept (level, message, fields) so a test can search them.
 */
export function handlerLoggingTo(
  runner: CodexRunner,
  cookieSecret: string,
  handlerOptions: Partial<CodexHandlerOptions> = {},
): { handler: CodexHandler; logs: string[] } {
  const logs: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const handler = createCodexHandler({
    runner,
    cookieSecret,
    cookieOptions: { secure: false },
    rateLimits: false,
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    ...handlerOptions,
  });
  return { handler, logs };
}
