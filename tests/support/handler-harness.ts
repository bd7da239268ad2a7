import { createCodexHandler, type CodexHandler } from "../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../src/backend/core/options.js";
import { createMemorySessionStore, type MemorySessionStore } from "../../src/backend/sessions/memory-store.js";
import { createTestRunner, type TestRunner } from "./test-runner.js";

export const SECRET = "kR3v9-QpZ7xW2mLs8YbT4nHc6JfD1gAe";
export const APP = "https://app.example";
export const BASE = `${APP}/api/codex`;

export interface Harness {
  handler: CodexHandler;
  runner: TestRunner;
  store: MemorySessionStore;
  options: CodexHandlerOptions;
}

/** A handler over the test runner and a memory store, rate limits off unless given. */
export function makeHarness(overrides: Partial<CodexHandlerOptions> = {}, runner = createTestRunner()): Harness {
  const store = (overrides.sessionStore as MemorySessionStore | undefined) ?? createMemorySessionStore({ sweepIntervalMs: 0 });
  const options: CodexHandlerOptions = { runner, cookieSecret: SECRET, rateLimits: false, ...overrides, sessionStore: store };
  return { handler: createCodexHandler(options), runner, store, options };
}

/** Same-origin browser request headers (what a page on APP sends with fetch). */
export function sameOrigin(extra: Record<string, string> = {}): Record<string, string> {
  return { host: "app.example", origin: APP, "sec-fetch-site": "same-origin", ...extra };
}

/** A browser with a cookie jar for the session cookie; every request is same-origin unless headers say otherwise. */
export class Browser {
  cookie: string | null = null;
  readonly setCookies: string[] = [];

  constructor(
    readonly handler: CodexHandler,
    readonly clientIp = "198.51.100.7",
  ) {}

  async post(route: string, body?: unknown, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
    const h: Record<string, string> = sameOrigin(headers);
    if (body !== undefined && h["content-type"] === undefined) h["content-type"] = "application/json";
    return this.send(new Request(BASE + route, { method: "POST", headers: this.withCookie(h), body: body === undefined ? undefined : JSON.stringify(body), ...init }));
  }

  async get(route: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(new Request(BASE + route, { headers: this.withCookie({ host: "app.example", "sec-fetch-site": "same-origin", ...headers }) }));
  }

  async send(request: Request): Promise<Response> {
    const response = await this.handler(request, { clientIp: this.clientIp });
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair] = line.split(";");
      const value = pair?.slice(pair.indexOf("=") + 1) ?? "";
      const name = pair?.slice(0, pair.indexOf("=")) ?? "";
      this.cookie = /max-age=0/i.test(line) ? null : `${name}=${value}`;
    }
    return response;
  }

  /** Signs in through the device flow: session, login/start, approve, status. */
  async signIn(runner: TestRunner): Promise<void> {
    await this.post("/session");
    await this.post("/login/start");
    runner.approve();
    const status = await this.get("/status");
    if (status.status !== 200) throw new Error(`sign-in failed: ${status.status} ${await status.text()}`);
  }

  private withCookie(headers: Record<string, string>): Record<string, string> {
    return this.cookie === null || headers.cookie !== undefined ? headers : { ...headers, cookie: this.cookie };
  }
}

/** Reads an NDJSON response to the end as events. */
export async function readEvents(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
