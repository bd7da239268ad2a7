import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CodexAuditEvent } from "../../../src/backend/core/audit.js";
import { CodexError } from "../../../src/backend/core/errors.js";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { directRunner } from "../../../src/backend/runners/direct/runner.js";
import { Browser, SECRET } from "../../support/handler-harness.js";
import { createTestRunner, TOKENS, type TestRunner } from "../../support/test-runner.js";

/** What reached console.warn / console.error during the test. */
let consoleLines: string[] = [];
beforeEach(() => {
  consoleLines = [];
  const keep = (...parts: unknown[]) => void consoleLines.push(parts.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" "));
  vi.spyOn(console, "warn").mockImplementation(keep);
  vi.spyOn(console, "error").mockImplementation(keep);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A loopback port nothing listens on: the upstream a mistyped URL points at. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function handlerWith(runner: CodexHandlerOptions["runner"], extra: Partial<CodexHandlerOptions> = {}) {
  const events: CodexAuditEvent[] = [];
  const handler = createCodexHandler({ runner, cookieSecret: SECRET, rateLimits: false, onEvent: (event) => events.push(event), ...extra });
  return { handler, events, browser: new Browser(handler) };
}

describe("a sign-in the upstream fails", () => {
  it("says on the console why POST /login/start failed (the refused connection), once, and audits login_failed", async () => {
    const port = await closedPort();
    const runner = directRunner({ upstream: `http://127.0.0.1:${port}`, retries: 0 });
    const { events, browser } = handlerWith(runner);
    await browser.post("/session");

    const first = await browser.post("/login/start");
    expect(first.status).toBe(502);
    expect(((await first.json()) as { code: string }).code).toBe("UPSTREAM_UNAVAILABLE");
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/\/login\/start failed upstream/);
    expect(consoleLines[0]).toMatch(/ECONNREFUSED/);
    expect(events.filter((event) => event.type === "login_failed")).toEqual([
      expect.objectContaining({ type: "login_failed", route: "loginStart", code: "UPSTREAM_UNAVAILABLE" }),
    ]);

    // The console hears each kind once; the audit hook hears every failure.
    expect((await browser.post("/login/start")).status).toBe(502);
    expect(consoleLines).toHaveLength(1);
    expect(events.filter((event) => event.type === "login_failed")).toHaveLength(2);
  });

  it("gives every failure to the logger when one is given, with a token in the cause redacted, and nothing to the console", async () => {
    const lines: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const runner = createTestRunner({
      startError: new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service failed.", {
        cause: new Error(`upstream said 401 to Bearer ${TOKENS.access} refresh_token=${TOKENS.refresh}`),
      }),
    });
    const { browser } = handlerWith(runner, { logger: { warn: (message, fields) => lines.push({ message, fields }) } });
    await browser.post("/session");
    await browser.post("/login/start");
    await browser.post("/login/start");

    expect(lines).toHaveLength(2);
    const text = JSON.stringify(lines);
    expect(text).toMatch(/upstream said 401/);
    expect(text).not.toContain(TOKENS.access.split(".")[1]);
    expect(text).not.toContain(TOKENS.refresh.slice(3));
    expect(consoleLines).toEqual([]);
  });

  it("logs a failing login poll and audits it as login_failed on the status route", async () => {
    const runner: TestRunner = createTestRunner();
    const { events, browser } = handlerWith(runner);
    await browser.post("/session");
    expect((await browser.post("/login/start")).status).toBe(200);
    runner.options.statusError = new CodexError("UPSTREAM_TIMEOUT", "The upstream service did not answer in time.");

    expect((await browser.get("/status")).status).toBe(504);
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/GET \/status failed upstream while polling a sign-in/);
    expect(events).toContainEqual(expect.objectContaining({ type: "login_failed", route: "status", code: "UPSTREAM_TIMEOUT" }));
  });

  it("keeps quiet about a user who has not enabled device codes: that is theirs to fix, and the page says so", async () => {
    const runner = createTestRunner({ startError: new CodexError("DEVICE_AUTH_NOT_ENABLED", "Enable device code sign-in.") });
    const { events, browser } = handlerWith(runner);
    await browser.post("/session");
    expect((await browser.post("/login/start")).status).toBe(403);
    expect(consoleLines).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ type: "login_failed", code: "DEVICE_AUTH_NOT_ENABLED" }));
  });
});

describe("Secure cookies on plain HTTP", () => {
  const session = (url: string, headers: Record<string, string> = {}) =>
    new Request(url, { method: "POST", headers: { origin: new URL(url).origin, "sec-fetch-site": "same-origin", ...headers } });

  it("warns once, naming the fix, when a Secure cookie is set on a plain-HTTP request", async () => {
    const { handler } = handlerWith(createTestRunner());
    for (let i = 0; i < 3; i++) expect((await handler(session("http://127.0.0.1:3000/api/codex/session"), { clientIp: "127.0.0.1" })).status).toBe(200);
    expect(consoleLines).toHaveLength(1);
    expect(consoleLines[0]).toMatch(/Secure session cookie was set on a plain-HTTP request/);
    expect(consoleLines[0]).toMatch(/secure: false/);
  });

  it("says nothing over HTTPS, behind a proxy that says HTTPS, or with secure: false", async () => {
    const https = handlerWith(createTestRunner()).handler;
    await https(session("https://app.example/api/codex/session"), { clientIp: "127.0.0.1" });
    const proxied = handlerWith(createTestRunner()).handler;
    await proxied(session("http://10.0.0.5:3000/api/codex/session", { "x-forwarded-proto": "https" }), { clientIp: "127.0.0.1" });
    const insecure = handlerWith(createTestRunner(), { cookieOptions: { secure: false } }).handler;
    expect((await insecure(session("http://127.0.0.1:3000/api/codex/session"), { clientIp: "127.0.0.1" })).status).toBe(200);
    expect(consoleLines).toEqual([]);
  });
});
