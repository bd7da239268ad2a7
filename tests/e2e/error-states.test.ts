/**
 * What the user sees when things go wrong: device auth off in ChatGPT, a code
 * left to expire, a usage limit, and an upstream that cannot be reached.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousViolations } from "./axe.js";
import { E2E_TIMEOUT, launchBrowser, startSimDemo, type SimDemo } from "./harness.js";
import { loginButton, loginThroughPopup, promptBox, readUserCode, runButton } from "./ui.js";

let browser: Browser;
let demo: SimDemo;

beforeAll(async () => {
  [browser, demo] = await Promise.all([launchBrowser(), startSimDemo()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

/** A fresh context and page on `url`; closed by the caller. */
async function openPage(url: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

const DEVICE_AUTH_HINT = /Security (&|and) Login/i;

describe("error states", { timeout: E2E_TIMEOUT }, () => {
  it("explains how to enable device code authorization when it is off", async () => {
    demo.sim.fault("device-auth-disabled", { times: 1 });
    const page = await openPage(demo.url);
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
    const page = await openPage(demo.url);
    try {
      await loginThroughPopup(page);
      const resetsAtSec = Math.floor(Date.now() / 1000) + 2 * 3600;
      demo.sim.fault("usage-limit", { resetsAt: resetsAtSec, times: 1 });
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
    demo.sim.fault("server-error", { endpoint: "usercode", status: 503 });
    const page = await openPage(demo.url);
    try {
      await loginButton(page).click();
      await page.getByText(/could not be reached|cannot be reached|can't reach|unavailable/i).first().waitFor({ timeout: 15_000 });
      expect(await page.locator("body").innerText()).not.toMatch(DEVICE_AUTH_HINT);
    } finally {
      demo.sim.clearFaults();
      await page.context().close();
    }
  });

  it("says plainly that the sign-in service cannot be reached when nothing listens there", async () => {
    const closed = await startSimDemo();
    const issuer = closed.sim.url;
    await closed.close(); // its simulator is gone: connection refused
    const unreachable = await startSimDemo({ issuer, backendBaseUrl: `${issuer}/backend-api` });
    const page = await openPage(unreachable.url);
    try {
      await loginButton(page).click();
      await page.getByText(/could not be reached|cannot be reached|can't reach|unavailable/i).first().waitFor({ timeout: 15_000 });
      expect(await page.locator("body").innerText()).not.toMatch(DEVICE_AUTH_HINT);
    } finally {
      await page.context().close();
      await unreachable.close();
    }
  });
});
