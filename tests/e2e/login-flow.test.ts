/**
 * The main path in a real browser: login through the popup on the simulator's
 * approval page, a streamed run, reload resume, disconnect; and the
 * popup-blocked fallback link.
 */
import { describe, expect, it } from "vitest";
import { E2E_TIMEOUT, useBrowserAndDemo } from "./harness.js";
import {
  approveOn,
  disconnectButton,
  loginButton,
  loginThroughPopup,
  readUserCode,
  runPrompt,
  waitSignedIn,
  USER_EMAIL,
} from "./ui.js";

const env = useBrowserAndDemo();

describe("signing in with the popup", { timeout: E2E_TIMEOUT }, () => {
  it("logs in through the simulator's page, streams an answer, resumes after a reload, and disconnects", async () => {
    const context = await env.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(env.demo.url);
      const before = env.demo.sim.stats();
      const startedAt = Date.now();
      await loginThroughPopup(page, { slowApproval: 2_500 });
      const elapsedMs = Date.now() - startedAt;
      expect(await page.getByText(USER_EMAIL).count()).toBeGreaterThan(0);
      const after = env.demo.sim.stats();
      // Under React StrictMode: one click, one popup, one device login, one code exchange.
      expect(context.pages()).toHaveLength(1); // the popup was the only other page, now closed
      expect(after.usercode - before.usercode).toBe(1);
      expect(after.codeExchange - before.codeExchange).toBe(1);
      // The page polled /status every 300 ms, yet the upstream saw at most one poll per 1 s interval.
      const upstreamPolls = after.deviceToken - before.deviceToken;
      expect(upstreamPolls).toBeGreaterThanOrEqual(1);
      expect(upstreamPolls).toBeLessThanOrEqual(Math.floor(elapsedMs / 1000) + 1);

      // Slow deltas so that the stream is visibly incremental.
      env.demo.sim.fault("slow-stream", { delayMs: 120, times: 1 });
      const { paints } = await runPrompt(page, "count to five please");
      const final = paints[paints.length - 1] ?? "";
      expect(final).toContain("count to five please");
      // More than one distinct paint before the final text: the answer streamed in.
      expect(paints.length).toBeGreaterThan(2);
      expect(paints.slice(0, -1).every((p) => final.startsWith(p) || final.includes(p))).toBe(true);

      await page.reload();
      await waitSignedIn(page);
      // A second tab of the same browser is signed in too, and follows the first one out.
      const other = await context.newPage();
      await other.goto(env.demo.url);
      await waitSignedIn(other);

      await disconnectButton(page).click();
      await loginButton(other).waitFor({ timeout: 10_000 });
      await loginButton(page).waitFor({ timeout: 10_000 });
      expect(await page.getByText(USER_EMAIL).count()).toBe(0);
      const status = await page.evaluate(async () => (await fetch("/api/codex/status")).status);
      expect(status).toBe(401);
      await page.reload();
      await loginButton(page).waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});

describe("when the popup cannot be used", { timeout: E2E_TIMEOUT }, () => {
  it("shows a noopener fallback link when the browser blocks the popup, and the link completes the login", async () => {
    const context = await env.browser.newContext();
    try {
      // A popup blocker: window.open answers null, as Chromium does when it blocks.
      await context.addInitScript(() => {
        window.open = () => null;
      });
      const page = await context.newPage();
      await page.goto(env.demo.url);
      await loginButton(page).click();
      const code = await readUserCode(page);
      const link = page.getByRole("link", { name: "Open the login page" });
      await link.waitFor({ timeout: 10_000 });
      expect(await link.getAttribute("href")).toBe(`${env.demo.sim.url}/codex/device`);
      expect((await link.getAttribute("rel"))?.split(/\s+/).sort()).toEqual(["noopener", "noreferrer"]);
      expect(await link.getAttribute("target")).toBe("_blank");

      const opened = context.waitForEvent("page", { timeout: 10_000 });
      await link.click();
      const tab = await opened;
      await tab.waitForURL(/\/codex\/device$/);
      // noopener: the login page gets no handle back to the app.
      expect(await tab.evaluate(() => window.opener)).toBeNull();
      await approveOn(tab, code);
      await waitSignedIn(page);
    } finally {
      await context.close();
    }
  });

  it("shows the fallback link when the popup is closed at once, and the link completes the login", async () => {
    const context = await env.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(env.demo.url);
      // Hold /login/start back a moment so that the user's close surely comes first, as in "at once".
      let release = () => {};
      const closed = new Promise<void>((resolve) => (release = resolve));
      await page.route("**/api/codex/login/start", async (route) => {
        await closed;
        await route.continue();
      });
      const popupOpened = page.waitForEvent("popup");
      await loginButton(page).click();
      const popup = await popupOpened;
      await popup.close();
      release();
      const code = await readUserCode(page);
      const link = page.getByRole("link", { name: "Open the login page" });
      await link.waitFor({ timeout: 10_000 });
      expect(await link.getAttribute("href")).toBe(`${env.demo.sim.url}/codex/device`);
      expect((await link.getAttribute("rel"))?.split(/\s+/).sort()).toEqual(["noopener", "noreferrer"]);

      const opened = context.waitForEvent("page", { timeout: 10_000 });
      await link.click();
      const tab = await opened;
      await approveOn(tab, code);
      await waitSignedIn(page);
    } finally {
      await context.close();
    }
  });
});
