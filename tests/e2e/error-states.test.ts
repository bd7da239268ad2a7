/**
 * What the user sees when things go wrong: device auth off in ChatGPT, a code
 * left to expire, a usage limit, and an upstream that cannot be reached.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { ensureDemoBuiltForTests } from "../../demo/build.js";
import { startDemo } from "../../demo/server.js";
import { seriousViolations } from "./axe.js";
import { E2E_TIMEOUT, startSimDemo, useBrowserAndDemo } from "./harness.js";
import { loginButton, loginThroughPopup, promptBox, readUserCode, runButton } from "./ui.js";

const env = useBrowserAndDemo();

/** A fresh context and page on `url`; closed by the caller. */
async function openPage(url: string): Promise<Page> {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** A port that was free a moment ago and has nothing listening on it now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const DEVICE_AUTH_HINT = /Security (&|and) Login/i;

describe("error states", { timeout: E2E_TIMEOUT }, () => {
  it("explains how to enable device code authorization when it is off", async () => {
    env.demo.sim.fault("device-auth-disabled", { times: 1 });
    const page = await openPage(env.demo.url);
    try {
      await loginButton(page).click();
      const hint = page.getByText(DEVICE_AUTH_HINT).first();
      await hint.waitFor({ timeout: 10_000 });
      expect(await page.locator("body").innerText()).toMatch(/device code/i);
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it("says the code expired when nobody approves it in time", async () => {
    const shortLived = await startSimDemo({ simulatorOptions: { codeTtlSeconds: 3 } });
    const page = await openPage(shortLived.url);
    try {
      await loginButton(page).click();
      await readUserCode(page);
      await page.getByText(/expired/i).first().waitFor({ timeout: 15_000 });
      // The user can start again from there.
      await page.getByRole("button", { name: /Login with ChatGPT|Start over|Try again/ }).first().waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await page.context().close();
      await shortLived.close();
    }
  });

  it("shows when a usage limit resets", async () => {
    const page = await openPage(env.demo.url);
    try {
      await loginThroughPopup(page);
      const resetsAtSec = Math.floor(Date.now() / 1000) + 2 * 3600;
      env.demo.sim.fault("usage-limit", { resetsAt: resetsAtSec, times: 1 });
      await promptBox(page).fill("hello");
      await runButton(page).click();
      await page.getByText(/usage limit/i).first().waitFor({ timeout: 15_000 });
      const alertText = await page.locator("body").innerText();
      // The reset time as the user's clock shows it (hours and minutes).
      const local = await page.evaluate((ms) => {
        const d = new Date(ms);
        return { h12: d.getHours() % 12 || 12, h24: d.getHours(), m: d.getMinutes().toString().padStart(2, "0") };
      }, resetsAtSec * 1000);
      expect(alertText).toMatch(new RegExp(`\\b(${local.h12}|${local.h24}|0${local.h24}):${local.m}\\b`));
    } finally {
      await page.context().close();
    }
  });

  it("says plainly that the sign-in service cannot be reached when it answers 5xx", async () => {
    env.demo.sim.fault("server-error", { endpoint: "usercode", status: 503 });
    const page = await openPage(env.demo.url);
    try {
      await loginButton(page).click();
      const widget = page.locator(".codex-auth");
      await widget.getByText(/could not be reached/i).waitFor({ timeout: 15_000 });
      expect(await widget.innerText()).not.toMatch(DEVICE_AUTH_HINT);
    } finally {
      env.demo.sim.clearFaults();
      await page.context().close();
    }
  });

  it("says plainly that OpenAI cannot be reached when `npm start` runs without internet (nothing listens)", async () => {
    // The default (OpenAI) mode, pointed at a port where nothing listens, as in a sandbox without internet.
    const closedPort = await freePort();
    const unreachable = await startDemo({
      port: 0,
      upstream: "openai",
      distDir: await ensureDemoBuiltForTests(),
      issuer: `http://127.0.0.1:${closedPort}`,
      backendBaseUrl: `http://127.0.0.1:${closedPort}/backend-api`,
    });
    const page = await openPage(unreachable.url);
    try {
      await loginButton(page).click();
      const widget = page.locator(".codex-auth");
      await widget.getByText(/OpenAI's sign-in service could not be reached/).waitFor({ timeout: 15_000 });
      expect(await widget.innerText()).not.toMatch(DEVICE_AUTH_HINT);
    } finally {
      await page.context().close();
      await unreachable.close();
    }
  });
});
