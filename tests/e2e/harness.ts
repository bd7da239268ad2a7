/**
 * Shared pieces of the browser end-to-end tests: Debian Chromium through
 * playwright-core, the demo on a free port in simulator mode, and a recorder of
 * every response any page or popup of a context receives.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";
import { ensureDemoBuiltForTests } from "../../demo/build.js";
import { startDemo, type DemoOptions, type RunningDemo } from "../../demo/server.js";
import type { Simulator } from "codex-auth/simulator";
import { afterAll, beforeAll } from "vitest";

export const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const ARTIFACTS_DIR = join(ROOT_DIR, "test-results", "e2e");

/** Per-test limit: a browser flow on two shared cores can take several times its usual few seconds. */
export const E2E_TIMEOUT = 60_000;

/** Debian's Chromium, headless; one per test file. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 30_000,
  });
}

/** A demo in simulator mode with a running simulator. */
export type SimDemo = RunningDemo & { sim: Simulator };

/** Build the page (cached by source hash) and start the demo on a free port against a fresh simulator. */
export async function startSimDemo(options: DemoOptions = {}): Promise<SimDemo> {
  const distDir = await ensureDemoBuiltForTests();
  const demo = await startDemo({
    port: 0,
    upstream: "simulator",
    distDir,
    pollIntervalMs: 300,
    ...options,
    // One-second upstream interval keeps logins quick while still exercising the poll coalescing.
    simulatorOptions: { interval: 1, ...options.simulatorOptions },
  });
  if (!demo.sim) throw new Error("the demo did not start a simulator");
  return demo as SimDemo;
}

/**
 * One browser and one simulator-backed demo for the calling test file: started
 * before its tests, stopped after them. Read `env.browser` / `env.demo` inside tests.
 */
export function useBrowserAndDemo(options: DemoOptions = {}): { readonly browser: Browser; readonly demo: SimDemo } {
  const env = {} as { browser: Browser; demo: SimDemo };
  beforeAll(async () => {
    [env.browser, env.demo] = await Promise.all([launchBrowser(), startSimDemo(options)]);
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.demo?.close();
  });
  return env;
}

/** Stands for a body Chromium never finished (the page did not read it); see recording-proxy.ts. */
export const UNREADABLE = "<body not readable>";

/** One response as a page received it. */
export interface CapturedResponse {
  url: string;
  status: number;
  headers: string;
  body: string;
}

/**
 * Records every response of every page and popup of `context`, headers and
 * bodies, so a test can prove what the browser could ever have seen.
 */
export function recordResponses(context: BrowserContext) {
  const captured: CapturedResponse[] = [];
  const pending = new Set<Promise<void>>();
  const onResponse = (response: Response) => {
    const task = (async () => {
      const headers = (await response.headersArray().catch(() => [])).map((h) => `${h.name}: ${h.value}`).join("\n");
      // Redirects and aborted streams have no body to read; a body that never settles is recorded as such.
      const body = await Promise.race([
        response.body().then((b) => b.toString("utf8"), () => ""),
        new Promise<string>((resolve) => setTimeout(resolve, 3_000, UNREADABLE)),
      ]);
      captured.push({ url: response.url(), status: response.status(), headers, body });
    })();
    pending.add(task);
    void task.finally(() => pending.delete(task));
  };
  context.on("response", onResponse);
  return {
    captured,
    /** Wait until every body seen so far has been read. */
    async settle(): Promise<CapturedResponse[]> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      return captured;
    },
    stop: () => context.off("response", onResponse),
  };
}

/** Save a screenshot under test-results/e2e/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
