/**
 * Accessibility of the three states (axe-core in Chromium), the whole flow with
 * the keyboard alone, and screenshots of the three states for the README.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { seriousViolations } from "./axe.js";
import { E2E_TIMEOUT, ROOT_DIR, screenshot, useBrowserAndDemo } from "./harness.js";
import { closeLoginPopup, loginButton, readUserCode, runPrompt, waitSignedIn } from "./ui.js";

const env = useBrowserAndDemo();

describe("accessibility", { timeout: E2E_TIMEOUT }, () => {
  it("has no serious or critical axe violations logged out, waiting and logged in (and saves screenshots)", async () => {
    const context = await env.browser.newContext({ viewport: { width: 900, height: 700 } });
    try {
      const page = await context.newPage();
      await page.goto(env.demo.url);
      await loginButton(page).waitFor();
      // The checker itself bites: an unnamed button is a critical violation.
      await page.evaluate(() => document.body.append(Object.assign(document.createElement("button"), { id: "axe-probe" })));
      expect((await seriousViolations(page)).join("\n")).toMatch(/button-name/);
      await page.evaluate(() => document.getElementById("axe-probe")?.remove());

      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "logged-out");

      const popupOpened = page.waitForEvent("popup");
      await loginButton(page).click();
      const popup = await popupOpened;
      const code = await readUserCode(page);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "waiting");
      await popup.waitForURL(/\/codex\/device$/);
      expect(await seriousViolations(popup)).toEqual([]);
      await popup.getByLabel("Code").fill(code);
      await popup.getByRole("button", { name: "Approve" }).click();
      await waitSignedIn(page);
      await closeLoginPopup(popup); // the app closes it on sign-in; this only makes sure
      expect(await seriousViolations(page)).toEqual([]);
      // With an answer on screen, as the README shows it.
      await runPrompt(page, "Hello from the codex-auth demo!");
      expect(await seriousViolations(page)).toEqual([]);
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const shot = await screenshot(page, "logged-in");
      // The README's picture is refreshed on request only, so test runs leave the tree clean.
      if (process.env.UPDATE_SCREENSHOTS) {
        await mkdir(join(ROOT_DIR, "docs", "screenshots"), { recursive: true });
        await copyFile(shot, join(ROOT_DIR, "docs", "screenshots", "logged-in.png"));
      }
    } finally {
      await context.close();
    }
  });

  it("works end to end with the keyboard alone, the approval page included", async () => {
    const context = await env.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(env.demo.url);
      await loginButton(page).waitFor();

      await tabTo(page, { text: "Login with ChatGPT" });
      const popupOpened = page.waitForEvent("popup");
      await page.keyboard.press("Enter");
      const popup = await popupOpened;
      const code = await readUserCode(page);
      await popup.waitForURL(/\/codex\/device$/);
      await popup.bringToFront();
      await tabTo(popup, { tag: "INPUT", id: "user-code" });
      await popup.keyboard.type(code);
      await tabTo(popup, { text: "Approve" });
      await popup.keyboard.press("Space");
      await popup.getByText("Approved.").waitFor();
      await waitSignedIn(page);
      await closeLoginPopup(popup); // the app closes it on sign-in; this only makes sure
      await page.bringToFront();
      await tabTo(page, { tag: "TEXTAREA" });
      await page.keyboard.type("typed with the keyboard");
      await tabTo(page, { text: "Run" });
      await page.keyboard.press("Enter");
      await page.getByText("You said: typed with the keyboard").first().waitFor({ timeout: 15_000 });

      await tabTo(page, { text: "Disconnect" });
      await page.keyboard.press("Space");
      await loginButton(page).waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});

/** What the focused element must be: its text, or its tag and optional id. */
type FocusTarget = { text: string } | { tag: string; id?: string };

/** Press Tab until the focused element matches (at most 40 presses); fails the test otherwise. */
async function tabTo(page: Page, target: FocusTarget): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const hit = await page.evaluate((t) => {
      const el = document.activeElement;
      if (!el) return false;
      if ("text" in t) return el.textContent?.trim() === t.text;
      return el.tagName === t.tag && (t.id === undefined || el.id === t.id);
    }, target);
    if (hit) return;
  }
  throw new Error(`focus never reached ${JSON.stringify(target)}`);
}
