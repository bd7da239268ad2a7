/**
 * The README's Quick start, as a new user runs it: an app made of the
 * README's own files (server.ts, main.tsx, index.html, vite.config.ts) and the
 * packed tarball, the simulator from the tarball's bin, `npx tsx server.ts`
 * and the Vite dev server with its `/api` proxy, then a real Chromium signs in
 * through the simulator's page and gets a streamed answer.
 */
import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/free-port.js";
import { packTarball } from "../../support/packed-tarball.js";
import {
  BIN,
  createScratchApp,
  readmeCommands,
  readmeSnippets,
  startNode,
  startSimulatorBin,
  waitForHttp,
  type Child,
  type ScratchApp,
} from "../../support/scratch-app.js";
import { launchBrowser } from "../harness.js";
import { loginThroughPopup, runPrompt } from "../ui.js";

const FILES = ["server.ts", "main.tsx", "index.html", "vite.config.ts"];
// The README's ports; the test moves them to free ones (several suites share this machine), nothing else.
const README_SERVER_PORT = "3000";

let app: ScratchApp | undefined;
let browser: Browser | undefined;
const children: Child[] = [];
let viteUrl = "";
let simulatorUrl = "";
let server: Child;

beforeAll(async () => {
  const [tarball, snippets] = await Promise.all([packTarball(), readmeSnippets("## Quick start")]);
  const [serverPort, vitePort, simulatorPort] = [await freePort(), await freePort(), await freePort()];
  const files = new Map<string, string>();
  for (const name of FILES) {
    const code = snippets.get(name);
    if (code === undefined) throw new Error(`README's Quick start has no ${name} fence`);
    files.set(name, code.replaceAll(`:${README_SERVER_PORT}`, `:${serverPort}`).replace(`listen(${README_SERVER_PORT},`, `listen(${serverPort},`));
  }
  app = await createScratchApp("express-vite", tarball.path, files);
  await tarball.remove();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_ENV; // as in a user's terminal (vitest sets "test")
  const simulator = await startSimulatorBin(app, simulatorPort, env);
  children.push(simulator.child);
  simulatorUrl = simulator.url;

  server = startNode(BIN.tsx, ["server.ts"], {
    cwd: app.dir,
    env: { ...env, CODEX_UPSTREAM: simulatorUrl, COOKIE_SECRET: randomBytes(32).toString("hex") },
  });
  children.push(server);
  const vite = startNode(BIN.vite, ["--port", String(vitePort), "--strictPort"], { cwd: app.dir, env: { ...env, VITE_CODEX_UPSTREAM: simulatorUrl } });
  children.push(vite);
  const [, local] = await vite.waitFor(/Local:\s+(http:\/\/localhost:\d+\/)/, 60_000);
  viteUrl = local!;
  await waitForHttp(`http://127.0.0.1:${serverPort}/api/codex/status`, 30_000);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(children.map((child) => child.stop()));
  await app?.remove();
});

describe("the README's Quick start (Express + Vite + React, from the packed tarball)", () => {
  it("names the commands it runs here: the simulator, npx tsx server.ts and npx vite", async () => {
    const commands = await readmeCommands("## Quick start");
    expect(commands).toMatch(/npx codex-auth-simulator --port \d+/);
    expect(commands).toMatch(/CODEX_UPSTREAM=\S+ COOKIE_SECRET=\S+.* npx tsx server\.ts/);
    expect(commands).toMatch(/VITE_CODEX_UPSTREAM=\S+ npx vite/);
  });

  it("signs in through the simulator's page and streams an answer, in Chromium", async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      await page.goto(viteUrl);
      await loginThroughPopup(page);
      const answered = page.waitForResponse((response) => response.url().endsWith("/api/codex/run/stream"));
      const { paints } = await runPrompt(page, "hello from the quick start");
      expect((await answered).headers()["content-type"]).toMatch(/application\/x-ndjson/);
      expect(paints.at(-1)).toContain("You said: hello from the quick start");
      // Streamed through the Vite proxy: the page painted parts of the answer before the whole.
      expect(paints.length).toBeGreaterThan(2);
      expect(paints.slice(0, -1).every((paint) => paints.at(-1)!.startsWith(paint))).toBe(true);
      // Plain HTTP with secure: false, a peer address, the body unread before the router: nothing to warn about.
      expect(server.output()).not.toMatch(/codex-auth:/);
    } finally {
      await context.close();
    }
  }, 120_000);
});
