import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCodexRouteHandlers } from "../../../src/backend/adapters/next.js";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { BASE, SECRET, sameOrigin } from "../../support/handler-harness.js";
import { createTestRunner } from "../../support/test-runner.js";

/** What reached console.warn during the test. */
let consoleLines: string[] = [];
beforeEach(() => {
  consoleLines = [];
  vi.spyOn(console, "warn").mockImplementation((...parts: unknown[]) => void consoleLines.push(parts.map(String).join(" ")));
});
afterEach(() => {
  vi.restoreAllMocks();
});

const options = (extra: Partial<CodexHandlerOptions> = {}): CodexHandlerOptions => ({ runner: createTestRunner(), cookieSecret: SECRET, ...extra });
const newSession = () => new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin() });

describe("a handler that is given no client IP", () => {
  it("warns once on console.warn when no logger is given, naming trustProxy as the fix", async () => {
    const handler = createCodexHandler(options());
    for (let i = 0; i < 5; i++) expect((await handler(newSession())).status).toBe(200);
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/no client IP/);
    expect(consoleLines[0]).toMatch(/per-IP rate limits/);
    expect(consoleLines[0]).toMatch(/trustProxy/);
  });

  it("warns once through the logger when one is given, and not on the console", async () => {
    const warnings: string[] = [];
    const handler = createCodexHandler(options({ logger: { warn: (message) => warnings.push(message) } }));
    for (let i = 0; i < 5; i++) await handler(newSession());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/trustProxy/);
    expect(consoleLines).toEqual([]);
  });

  it("still warns on the console when the logger has no warn method", async () => {
    const handler = createCodexHandler(options({ logger: { error: () => undefined } }));
    await handler(newSession());
    expect(consoleLines).toHaveLength(1);
  });

  it("says nothing when rate limits are off, or when every request names its client", async () => {
    await createCodexHandler(options({ rateLimits: false }))(newSession());
    const withIp = createCodexHandler(options());
    await withIp(newSession(), { clientIp: "198.51.100.7" });
    expect(consoleLines).toEqual([]);
  });
});

describe("Next.js route handlers without trustProxy", () => {
  it("warn once when built, before any request, since per-IP limits could never apply", async () => {
    const routes = createCodexRouteHandlers(options());
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/Next\.js/);
    expect(consoleLines[0]).toMatch(/trustProxy is off/);
    expect(consoleLines[0]).toMatch(/per-IP rate limits will never apply/);
    // The requests that follow add no second warning about the same thing.
    for (let i = 0; i < 3; i++) expect((await routes.POST(newSession())).status).toBe(200);
    expect(consoleLines).toHaveLength(1);
  });

  it("warn through the logger when one is given", () => {
    const warnings: string[] = [];
    createCodexRouteHandlers(options({ logger: { warn: (message) => warnings.push(message) } }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/trustProxy/);
    expect(consoleLines).toEqual([]);
  });

  it("stay quiet with trustProxy set, or with rate limits turned off", async () => {
    const proxied = createCodexRouteHandlers(options({ trustProxy: true }));
    createCodexRouteHandlers(options({ rateLimits: false }));
    expect(consoleLines).toEqual([]);
    const answer = await proxied.POST(new Request(`${BASE}/session`, { method: "POST", headers: sameOrigin({ "x-forwarded-for": "203.0.113.9" }) }));
    expect(answer.status).toBe(200);
    expect(consoleLines).toEqual([]);
  });
});
