/**
 * The README's Next.js section, for real: a Next.js App Router app made of the
 * README's own route handler and page and the packed tarball, built with
 * `next build` and served by `next start` on 127.0.0.1 with the tarball's
 * simulator as upstream, then a real Chromium signs in and gets a streamed
 * answer. It proves the package's `"use client"` (a Server Component page
 * renders <CodexAuth>) and the Next adapter against a real Next server.
 */
import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/free-port.js";
import { packTarball } from "../../support/packed-tarball.js";
import {
  BIN,
  createScratchApp,
  readmeSnippets,
  runNode,
  startNode,
  startSimulatorBin,
  type Child,
  type ScratchApp,
} from "../../support/scratch-app.js";
import { launchBrowser } from "../harness.js";
import { loginThroughPopup, runPrompt } from "../ui.js";

const ROUTE = "app/api/codex/[...path]/route.ts";
const PAGE = "app/page.tsx";
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
let nextServer: Child;
let pageUrl = "";
let buildOutput = "";

beforeAll(async () => {
  const [tarball, snippets] = await Promise.all([packTarball(), readmeSnippets("### Next.js (App Router)")]);
  const files = new Map<string, string>([["app/layout.tsx", LAYOUT]]);
  for (const name of [ROUTE, PAGE]) {
    const code = snippets.get(name);
    if (code === undefined) throw new Error(`README's Next.js section has no ${name} fence`);
    files.set(name, code);
  }
  app = await createScratchApp("next", tarball.path, files);
  await tarball.remove();

  const [nextPort, simulatorPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  delete env.NODE_ENV; // next sets it itself
  const simulator = await startSimulatorBin(app, simulatorPort, env);
  children.push(simulator.child);
  const appEnv = { ...env, CODEX_UPSTREAM: simulator.url, COOKIE_SECRET: randomBytes(32).toString("hex") };

  // Two shared cores: a real `next build` takes minutes here.
  buildOutput = await runNode(BIN.next, ["build"], { cwd: app.dir, env: appEnv, timeoutMs: 480_000 });
  nextServer = startNode(BIN.next, ["start", "--port", String(nextPort), "--hostname", "127.0.0.1"], { cwd: app.dir, env: appEnv });
  children.push(nextServer);
  await nextServer.waitFor(/Ready in/, 60_000);
  // localhost: the cookie is Secure (`__Host-`), which Chromium accepts on plain HTTP only there.
  pageUrl = `http://localhost:${nextPort}/`;
  browser = await launchBrowser();
}, 660_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(children.map((child) => child.stop()));
  await app?.remove();
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
    const out = nextServer.output();
    // `next start` fills X-Forwarded-For when absent, so trustProxy: true finds an IP (a proxy in front must overwrite it).
    expect(out).not.toMatch(/no client IP/);
    expect(out.match(/a Secure session cookie was set on a plain-HTTP request/g)).toHaveLength(1);
  });
});
