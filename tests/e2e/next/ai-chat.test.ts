/**
 * The README's "Use the AI SDK on your users' accounts" section, for real: a
 * Next.js app made of its snippets (shared options, the codex routes, the chat
 * route, the useChat page) and the packed tarball, built with `next build`,
 * served by `next start` with the tarball's simulator as upstream. Chromium
 * signs in with <CodexAuth>, then useChat streams an answer from the account.
 */
import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packTarball } from "../../support/packed-tarball.js";
import { freePort } from "../../support/free-port.js";
import { BIN, createScratchApp, readmeSnippets, runNode, startNode, startSimulatorBin, type Child, type ScratchApp } from "../../support/scratch-app.js";
import { launchBrowser } from "../harness.js";
import { loginThroughPopup } from "../ui.js";

const FILES = ["lib/codex.ts", "app/api/codex/[...path]/route.ts", "app/api/chat/route.ts", "app/chat/chat.tsx", "app/chat/page.tsx"];
// Every App Router app has a root layout (create-next-app writes this one); the README does not repeat it.
const LAYOUT = `export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
`;

let app: ScratchApp | undefined;
let browser: Browser | undefined;
const children: Child[] = [];
let pageUrl = "";

beforeAll(async () => {
  const [tarball, snippets] = await Promise.all([packTarball(), readmeSnippets("### Use the AI SDK on your users' accounts (`codex-auth/ai`)")]);
  const files = new Map<string, string>([["app/layout.tsx", LAYOUT]]);
  for (const name of FILES) {
    const code = snippets.get(name);
    if (code === undefined) throw new Error(`README's AI SDK section has no ${name} fence`);
    files.set(name, code);
  }
  app = await createScratchApp("ai-chat", tarball.path, files);
  await tarball.remove();

  const [nextPort, simulatorPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  delete env.NODE_ENV; // next sets it itself
  const simulator = await startSimulatorBin(app, simulatorPort, env);
  children.push(simulator.child);
  const appEnv = { ...env, CODEX_UPSTREAM: simulator.url, COOKIE_SECRET: randomBytes(32).toString("hex") };
  await runNode(BIN.next, ["build"], { cwd: app.dir, env: appEnv, timeoutMs: 480_000 });
  const server = startNode(BIN.next, ["start", "--port", String(nextPort), "--hostname", "127.0.0.1"], { cwd: app.dir, env: appEnv });
  children.push(server);
  await server.waitFor(/Ready in/, 60_000);
  // localhost: the cookie is Secure (`__Host-`), which Chromium accepts on plain HTTP only there.
  pageUrl = `http://localhost:${nextPort}/chat`;
  browser = await launchBrowser();
}, 660_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(children.map((child) => child.stop()));
  await app?.remove();
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
