import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { RunEvent } from "../../src/contract.js";
import type { CodexRunner, RunnerContext } from "../../src/backend/runners/types.js";
export { until } from "./until.js";

/**
 * A scripted runner for the adapter suite. `/login/start` signs the session in
 * at once; `run` behaves according to the prompt:
 * - "hello": two text events and done;
 * - "gate": one event, then waits for `openGate()` before finishing;
 * - "hang": one event, then waits for the abort signal;
 * - "flood": up to `floodEvents` events of `floodChunk` characters each, counted in `pulled`.
 */
export interface ScriptedRunner extends CodexRunner {
  readonly record: {
    /** The signal of the most recent run. */
    signal?: AbortSignal;
    /** Events the last flood run handed out (pulled by the handler). */
    pulled: number;
    /** The last run's iterator was closed (finished, returned or aborted). */
    runEnded: boolean;
  };
  openGate(): void;
  floodEvents: number;
  floodChunk: number;
}

export function createScriptedRunner(): ScriptedRunner {
  let gate: (() => void) | undefined;
  const record: ScriptedRunner["record"] = { pulled: 0, runEnded: false };
  const runner: ScriptedRunner = {
    record,
    floodEvents: 1600,
    floodChunk: 64 * 1024,
    openGate: () => gate?.(),
    async startDeviceLogin(ctx: RunnerContext) {
      ctx.data.loggedIn = true;
      return { status: "authenticated", account: { email: "user@example.com" } };
    },
    async getStatus(ctx: RunnerContext) {
      return ctx.data.loggedIn === true
        ? { status: "authenticated", account: { email: "user@example.com" } }
        : { status: "logged_out" };
    },
    async logout(ctx: RunnerContext) {
      delete ctx.data.loggedIn;
    },
    run(_ctx: RunnerContext, prompt: string, signal: AbortSignal): AsyncIterable<RunEvent> {
      record.signal = signal;
      record.pulled = 0;
      record.runEnded = false;
      const gated = new Promise<void>((resolve) => {
        gate = resolve;
      });
      return (async function* (): AsyncGenerator<RunEvent> {
        try {
          if (prompt === "flood") {
            const text = "x".repeat(runner.floodChunk);
            for (let i = 0; i < runner.floodEvents && !signal.aborted; i++) {
              record.pulled++;
              yield { type: "assistant-text", mode: "append", text };
            }
            yield { type: "done", result: {} };
            return;
          }
          yield { type: "assistant-text", mode: "append", text: "Hello" };
          if (prompt === "gate") await gated;
          if (prompt === "hang") await aborted(signal);
          if (signal.aborted) return;
          yield { type: "assistant-text", mode: "append", text: ", world" };
          yield { type: "done", result: {} };
        } finally {
          record.runEnded = true;
        }
      })();
    },
  };
  return runner;
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string or chunks; chunks are sent without Content-Length (chunked encoding). */
  body?: string | Buffer | readonly Buffer[];
  /** The request target sent as it is, instead of the URL's (whose dot segments a URL parser resolves). */
  target?: string;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

/** One request over a fresh socket (node:http, no pooling), read to the end. */
export function send(url: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const where = new URL(url);
    const path = options.target ?? where.pathname + where.search;
    const init = { method: options.method ?? "GET", headers: options.headers, agent: false as const };
    const req = httpRequest({ ...init, host: where.hostname, port: where.port, path }, (res) => {
      collect(res).then((text) => resolve(answer(res, text)), reject);
    });
    req.on("error", reject);
    const body = options.body;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body as string | Buffer | undefined);
    }
  });
}

/** The `name=value` pair of the first Set-Cookie of an answer's headers. */
export function cookieOf(setCookie: string[] | undefined): string {
  const first = setCookie?.[0];
  if (!first) throw new Error("no Set-Cookie");
  return first.split(";")[0] as string;
}

/**
 * From a new session's answer: POST /login/start (the scripted runner signs in
 * at once), then POST /run/stream as the signed-in browser. The run's answer.
 */
export async function loginAndRun(base: string, session: Answer): Promise<Answer> {
  const login = await send(`${base}/api/codex/login/start`, { method: "POST", headers: { origin: base, cookie: cookieOf(session.headers["set-cookie"]) } });
  return send(`${base}/api/codex/run/stream`, {
    method: "POST",
    headers: { origin: base, cookie: cookieOf(login.headers["set-cookie"]), "content-type": "application/json" },
    body: JSON.stringify({ prompt: "hello" }),
  });
}

/** Starts a request and resolves with the response as soon as its head arrives (body unread). */
export function open(url: string, options: SendOptions = {}): Promise<{ res: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) =>
      resolve({ res, destroy: () => req.destroy() }),
    );
    req.on("error", reject);
    req.end(options.body as string | Buffer | undefined);
  });
}

export async function collect(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function answer(res: IncomingMessage, text: string): Answer {
  return { status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

