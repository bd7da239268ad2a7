/**
 * The README's "Use the AI SDK on your users' accounts" section, for real: a
 * Next.js app made of its snippets (shared options, the codex routes, the chat
 * route, the useChat page) and the packed tarball, built with `next build`,
 * served by `next start` with the tarball's simulator as upstream. Chromium
 * signs in with <CodexAuth>, then useChat streams an answer from the account.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNextApp, type NextApp } from "../../support/next-app.js";
import { launchBrowser } from "../harness.js";
import { loginThroughPopup } from "../ui.js";

const FILES = ["lib/codex.ts", "app/api/codex/[...path]/route.ts", "app/api/chat/route.ts", "app/chat/chat.tsx", "app/chat/page.tsx"];

let app: NextApp | undefined;
let browser: Browser | undefined;
let pageUrl = "";

beforeAll(async () => {
  app = await startNextApp("### Use the AI SDK on your users' accounts (`codex-auth/ai`)", FILES);
  pageUrl = `${app.origin}/chat`;
  browser = await launchBrowser();
}, 660_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
}, 60_000);

describe("the README's AI SDK snippets in a real Next.js app", () => {
  it("refuses the chat before sign-in, then streams useChat answers from the signed-in account", async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      await page.goto(pageUrl);
      const message = page.getByRole("textbox", { name: "Message" });
      const send = page.getByRole("button", { name: "Send" });

      await message.fill("before signing in");
      await send.click();
      await expect.poll(async () => page.locator("main [role=alert]").textContent(), { timeout: 15_000 }).toMatch(/NO_SESSION|NOT_AUTHENTICATED/);

      await loginThroughPopup(page);
      await page.reload(); // a fresh conversation, signed in
      const answered = page.waitForResponse((response) => response.url().endsWith("/api/chat"));
      await message.fill("hello from useChat");
      await send.click();
      const response = await answered;
      expect(response.status()).toBe(200);
      expect(response.headers()["x-vercel-ai-ui-message-stream"]).toBe("v1");
      const conversation = page.getByRole("list", { name: "Conversation" });
      await expect.poll(async () => conversation.textContent(), { timeout: 20_000 }).toContain("Assistant: You said: hello from useChat");

      // A second turn: useChat sends the whole history, the upstream answers the last message.
      await message.fill("and a second one");
      await send.click();
      await expect.poll(async () => conversation.textContent(), { timeout: 20_000 }).toContain("Assistant: You said: and a second one");
      expect(await conversation.getByRole("listitem").count()).toBe(4);
    } finally {
      await context.close();
    }
  }, 180_000);
});
