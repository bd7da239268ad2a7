/**
 * The README's Next.js section, for real: a Next.js App Router app made of the
 * README's own route handler and page and the packed tarball, built with
 * `next build` and served by `next start` on 127.0.0.1 with the tarball's
 * simulator as upstream, then a real Chromium signs in and gets a streamed
 * answer. It proves the package's `"use client"` (a Server Component page
 * renders <CodexAuth>) and the Next adapter against a real Next server.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNextApp, type NextApp } from "../../support/next-app.js";
import { launchBrowser } from "../harness.js";
import { loginThroughPopup, runPrompt } from "../ui.js";

let app: NextApp | undefined;
let browser: Browser | undefined;
let pageUrl = "";
let buildOutput = "";

beforeAll(async () => {
  app = await startNextApp("### Next.js (App Router)", ["app/api/codex/[...path]/route.ts", "app/page.tsx"]);
  buildOutput = app.buildOutput;
  pageUrl = `${app.origin}/`;
  browser = await launchBrowser();
}, 660_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
}, 60_000);

describe("the README's Next.js App Router snippets, built from the packed tarball", () => {
  it("build: the page that renders <CodexAuth> compiles as a Server Component, the route as a dynamic handler", () => {
    expect(buildOutput).toMatch(/Compiled successfully|Compiled/);
    expect(buildOutput).toMatch(/\/api\/codex\/\[\.\.\.path\]/);
  });

  it("signs in through the simulator's page and streams an answer from next start, in Chromium", async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      await page.goto(pageUrl);
      await loginThroughPopup(page);
      const answered = page.waitForResponse((response) => response.url().endsWith("/api/codex/run/stream"));
      const { paints } = await runPrompt(page, "hello from next");
      expect((await answered).headers()["content-type"]).toMatch(/application\/x-ndjson/);
      expect(paints.at(-1)).toContain("You said: hello from next");
      expect(paints.length).toBeGreaterThan(2);
      expect(paints.slice(0, -1).every((paint) => paints.at(-1)!.startsWith(paint))).toBe(true);
      const cookies = await context.cookies(pageUrl);
      expect(cookies.map((cookie) => cookie.name)).toContain("__Host-codex_sid");
    } finally {
      await context.close();
    }
  }, 120_000);

  it("says on the server console what a new user must know, once: Secure cookies on plain HTTP; and never that the client IP is missing", () => {
    const out = app!.server.output();
    // `next start` fills X-Forwarded-For when absent, so trustProxy: true finds an IP (a proxy in front must overwrite it).
    expect(out).not.toMatch(/no client IP/);
    expect(out.match(/a Secure session cookie was set on a plain-HTTP request/g)).toHaveLength(1);
  });
});
