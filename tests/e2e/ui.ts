/** How the tests drive the demo's default UI and the simulator's approval page, by role and label. */
import type { Page } from "playwright-core";
import { expect } from "vitest";

export const USER_EMAIL = "user@example.com";
const CODE_PATTERN = /\b[A-Z0-9]{4}-[A-Z0-9]{4,5}\b/;

export const loginButton = (page: Page) => page.getByRole("button", { name: "Login with ChatGPT" });
export const disconnectButton = (page: Page) => page.getByRole("button", { name: "Disconnect" });
export const promptBox = (page: Page) => page.getByRole("textbox", { name: "Prompt" });
export const runButton = (page: Page) => page.getByRole("button", { name: "Run", exact: true });
export const stopButton = (page: Page) => page.getByRole("button", { name: "Stop", exact: true });

/** The device code as the main page shows it to the user. */
export async function readUserCode(page: Page): Promise<string> {
  const handle = await page.waitForFunction(
    (source) => document.body.innerText.match(new RegExp(source))?.[0] ?? false,
    CODE_PATTERN.source,
    { timeout: 10_000 },
  );
  return (await handle.jsonValue()) as string;
}

/** On the simulator's page: type the code and press Approve (with the mouse). */
export async function approveOn(popup: Page, code: string): Promise<void> {
  await popup.getByLabel("Code").fill(code);
  await popup.getByRole("button", { name: "Approve" }).click();
  await popup.getByText("Approved.").waitFor({ timeout: 10_000 });
}

/** Waits until the main page shows the signed-in account. */
export async function waitSignedIn(page: Page): Promise<void> {
  await page.getByText(USER_EMAIL).first().waitFor({ timeout: 15_000 });
  await disconnectButton(page).waitFor({ timeout: 5_000 });
}

/**
 * The whole login through the popup: click, read the code on the main page, approve in the popup.
 * `slowApproval` (ms) makes the user take their time, so that the page polls many times meanwhile.
 */
export async function loginThroughPopup(page: Page, options: { slowApproval?: number } = {}): Promise<void> {
  const popupOpened = page.waitForEvent("popup", { timeout: 10_000 });
  await loginButton(page).click();
  const popup = await popupOpened;
  expect(page.context().pages()).toHaveLength(2); // exactly one popup, even under StrictMode
  await popup.waitForURL(/\/codex\/device$/, { timeout: 10_000 });
  const code = await readUserCode(page);
  if (options.slowApproval) await popup.waitForTimeout(options.slowApproval);
  await approveOn(popup, code);
  await waitSignedIn(page);
  await closeLoginPopup(popup);
}

/**
 * Closes the login popup if the app has not (it closes it once it sees the
 * sign-in). Call it after waitSignedIn: a Playwright close issued right after
 * Approve was seen to never return in headless Chromium (cause not pinned
 * down), and either close ending this is enough.
 */
export async function closeLoginPopup(popup: Page): Promise<void> {
  if (popup.isClosed()) return;
  const gone = new Promise<void>((resolve) => popup.once("close", () => resolve()));
  await Promise.race([popup.close().catch(() => undefined), gone]);
}

/**
 * Types a prompt, presses Run and records the answer's text at every animation
 * frame until Run is back, so a test can count the distinct paints of a stream.
 */
export async function runPrompt(page: Page, prompt: string): Promise<{ paints: string[] }> {
  await promptBox(page).fill(prompt);
  await page.evaluate(() => {
    const w = window as unknown as { __paints: string[]; __sampling: boolean };
    w.__paints = [];
    w.__sampling = true;
    const sample = () => {
      const text = document.querySelector("[data-codex-answer]")?.textContent ?? "";
      if (text && w.__paints[w.__paints.length - 1] !== text) w.__paints.push(text);
      if (w.__sampling) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
  await runButton(page).click();
  await stopButton(page).waitFor({ state: "detached", timeout: 20_000 }).catch(() => undefined);
  await runButton(page).waitFor({ timeout: 20_000 });
  const paints = await page.evaluate(() => {
    const w = window as unknown as { __paints: string[]; __sampling: boolean };
    w.__sampling = false;
    // The last render may not have met a frame yet: the final entry is always the text now shown.
    const now = document.querySelector("[data-codex-answer]")?.textContent ?? "";
    if (w.__paints[w.__paints.length - 1] !== now) w.__paints.push(now);
    return w.__paints;
  });
  return { paints };
}
