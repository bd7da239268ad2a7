/**
 * The security promises as a browser experiences them: hostile assistant text
 * stays text, tokens never reach the browser, another site cannot act for the
 * user, and the session cookie is stored HttpOnly + SameSite=Strict.
 *
 * Secure and the `__Host-` prefix: the plain-HTTP demo runs with
 * `cookieOptions: { secure: false }`, so a second demo is served over TLS with a
 * throwaway self-signed certificate (openssl CLI) and its cookie is checked as
 * Chromium stores it. The server tests check the Set-Cookie header as well.
 */
import { request } from "node:http";
import type { CodexAuditEvent } from "codex-auth/backend";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAttackerSite, type AttackerSite } from "./attacker.js";
import { E2E_TIMEOUT, launchBrowser, recordResponses, startSimDemo, UNREADABLE, type SimDemo } from "./harness.js";
import { startRecordingProxy } from "./recording-proxy.js";
import { selfSignedLocalhostCert } from "./tls.js";
import {
  disconnectButton,
  loginButton,
  loginThroughPopup,
  promptBox,
  runButton,
  runPrompt,
  waitSignedIn,
} from "./ui.js";

let browser: Browser;
let demo: SimDemo;
let attacker: AttackerSite;
const audit: CodexAuditEvent[] = [];

beforeAll(async () => {
  [browser, demo, attacker] = await Promise.all([
    launchBrowser(),
    startSimDemo({ onEvent: (event) => audit.push(event) }),
    startAttackerSite(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await attacker?.close();
  await demo?.close();
});

describe("hostile assistant output", { timeout: E2E_TIMEOUT }, () => {
  it("shows an echoed <img onerror> and <script> literally and runs neither", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(demo.url);
      await loginThroughPopup(page);
      const hostile = `<img src=x onerror=window.__pwned=1> and <script>window.__pwned=2</script>`;
      const { paints } = await runPrompt(page, hostile);
      // The simulator echoes the prompt: the very characters are on screen.
      expect(paints[paints.length - 1]).toContain(hostile);
      expect(await page.locator("body").innerText()).toContain(hostile);
      // Not merely blocked by the CSP: no element was ever created from it.
      expect(await page.locator("main img, main script").count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    } finally {
      await context.close();
    }
  });
});

describe("token confinement in the browser", { timeout: E2E_TIMEOUT }, () => {
  it("no token reaches any page or popup, document.cookie, or localStorage", async () => {
    // The browser's own view (every page and popup), plus a copy of every byte the demo sent,
    // because Chromium cannot report a body the page never read (e.g. the client ignores /logout's `{}`).
    const proxy = await startRecordingProxy(demo.port);
    const context = await browser.newContext();
    const recorder = recordResponses(context);
    try {
      const page = await context.newPage();
      await page.goto(proxy.url);
      await loginThroughPopup(page);
      await runPrompt(page, "say something");
      await page.reload();
      await waitSignedIn(page);

      const cookieVisibleToScript = await page.evaluate(() => document.cookie);
      expect(cookieVisibleToScript).not.toMatch(/codex_sid/);

      const storage = await page.evaluate(() =>
        Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])),
      );
      const values = Object.values(storage);
      expect(values.length).toBeGreaterThan(0);
      for (const value of values) {
        const parsed = JSON.parse(value ?? "null") as Record<string, unknown>;
        expect(Object.keys(parsed).sort()).toEqual(["loggedIn", "savedAt"]);
      }

      // Error paths and logout too: a usage-limit answer, then Disconnect (which revokes upstream).
      demo.sim.fault("usage-limit", { times: 1 });
      await promptBox(page).fill("one more");
      await runButton(page).click();
      await page.getByText(/usage limit/i).first().waitFor({ timeout: 15_000 });
      await disconnectButton(page).click();
      await loginButton(page).waitFor({ timeout: 10_000 });

      const seen = await recorder.settle();
      const tokens = demo.sim.issuedTokens();
      expect(tokens.length).toBeGreaterThanOrEqual(3); // access, refresh, id at least
      expect(demo.sim.stats().revoke).toBeGreaterThan(0);
      expect(seen.some((r) => r.url.startsWith(demo.sim.url))).toBe(true); // the popup's pages are in
      // Whatever the browser could not show us, the proxy saw.
      const unread = seen.filter((r) => r.body === UNREADABLE);
      expect(unread.every((r) => r.url.startsWith(proxy.url))).toBe(true);
      expect(proxy.responses.map((r) => r.url)).toEqual(expect.arrayContaining(["/api/codex/logout", "/api/codex/run/stream"]));

      const everything = [...seen, ...proxy.responses];
      expect(everything.length).toBeGreaterThan(20);
      // The search bites: a refresh token in a header, an access token's payload in a body.
      const planted = [
        { url: "planted-header", headers: `x-leak: ${tokens.find((t) => t.split(".").length !== 3) ?? tokens[1]}`, body: "" },
        { url: "planted-body", headers: "", body: `{"a":"${tokens[0]!.split(".")[1]}"}` },
      ];
      expect(tokenLeaks(planted, tokens)).toEqual(["planted-header (headers)", "planted-body (body)"]);
      expect(tokenLeaks(everything, tokens)).toEqual([]);
    } finally {
      recorder.stop();
      await context.close();
      await proxy.close();
    }
  });
});

/** The token and, for a JWT, its payload and signature: none may appear, whole or in pieces. (A JWT header is not secret.) */
function secretParts(token: string): string[] {
  const parts = token.split(".");
  return parts.length === 3 ? [token, parts[1]!, parts[2]!] : [token];
}

/** "url (body|headers)" of every response holding any secret part of any token. */
function tokenLeaks(responses: { url: string; headers: string; body: string }[], tokens: string[]): string[] {
  const parts = tokens.flatMap(secretParts);
  return responses.flatMap((r) => [
    ...(parts.some((p) => r.headers.includes(p)) ? [`${r.url} (headers)`] : []),
    ...(parts.some((p) => r.body.includes(p)) ? [`${r.url} (body)`] : []),
  ]);
}

describe("a cross-site attacker on another loopback origin", { timeout: E2E_TIMEOUT }, () => {
  it("gets 403 for credentialed POSTs to /run/stream and /logout and a form POST, cannot read /status, and the user stays signed in", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(demo.url);
      await loginThroughPopup(page);
      const runsBefore = demo.sim.stats().responses;

      const evil = await context.newPage();
      const seen: { url: string; method: string; status: number }[] = [];
      evil.on("response", (r) => seen.push({ url: r.url(), method: r.request().method(), status: r.status() }));
      const rejectedBefore = audit.filter((e) => e.type === "csrf_rejected").length;
      await evil.goto(attacker.url);
      const api = new URL("/api/codex", demo.url).href;
      const outcome = await evil.evaluate(async (base) => {
        const read = async (path: string, init: RequestInit) => {
          try {
            const res = await fetch(base + path, { credentials: "include", ...init });
            return `read ${res.status}`;
          } catch {
            return "blocked";
          }
        };
        // Fire-and-forget POSTs as an attacker sends them: no-cors, text/plain, so no preflight stops them.
        const send = (path: string, body: string) =>
          fetch(base + path, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body })
            .then((res) => res.type, () => "failed");
        return {
          run: await send("/run/stream", JSON.stringify({ prompt: "spend their quota" })),
          logout: await send("/logout", "{}"),
          // A CORS read of the account: no Access-Control-Allow-Origin for this origin.
          status: await read("/status", { method: "GET" }),
          runRead: await read("/run/stream", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ prompt: "x" }) }),
        };
      }, api);
      // The POSTs went out (opaque answers), and nothing was readable.
      expect(outcome).toEqual({ run: "opaque", logout: "opaque", status: "blocked", runRead: "blocked" });
      const posts = seen.filter((r) => r.method === "POST");
      expect(posts.map((r) => [new URL(r.url).pathname, r.status])).toEqual([
        ["/api/codex/run/stream", 403],
        ["/api/codex/logout", 403],
      ]);

      // A classic auto-submitting form, a top-level navigation POST.
      const formResponse = evil.waitForResponse((r) => r.url() === `${api}/logout` && r.request().method() === "POST");
      await evil.evaluate((action) => {
        const form = document.createElement("form");
        form.method = "POST";
        form.action = action;
        document.body.append(form);
        form.submit();
      }, `${api}/logout`);
      expect((await formResponse).status()).toBe(403);
      // The server saw and refused all four POSTs (the CORS-mode one too, whose answer the browser hid).
      const rejected = audit.filter((e) => e.type === "csrf_rejected").slice(rejectedBefore);
      expect(rejected.map((e) => e.route).sort()).toEqual(["logout", "logout", "runStream", "runStream"]);

      expect(demo.sim.stats().responses).toBe(runsBefore); // no run reached the upstream
      await page.reload();
      await waitSignedIn(page);
    } finally {
      await context.close();
    }
  });
});

describe("a DNS-rebinding page", { timeout: E2E_TIMEOUT }, () => {
  it("is refused: the demo answers only to loopback host names", async () => {
    const port = new URL(demo.url).port;
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/api/codex/status", headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    expect(await status(`evil.example:${port}`)).toBe(403);
    expect(await status(`localhost:${port}`)).toBe(401); // answered by the contract: no session
    expect(await status(`127.0.0.1:${port}`)).toBe(401);
  });
});

describe("the session cookie as the browser stores it", { timeout: E2E_TIMEOUT }, () => {
  it("is HttpOnly and SameSite=Strict, and is replaced by a new one at login", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(demo.url);
      await page.evaluate(() => fetch("/api/codex/session", { method: "POST" }));
      const before = (await context.cookies()).find((c) => c.name === "codex_sid");
      expect(before).toBeDefined();
      await loginThroughPopup(page);
      const cookies = (await context.cookies()).filter((c) => c.name.includes("codex_sid"));
      expect(cookies).toHaveLength(1);
      const [cookie] = cookies;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
      // Fixation defence: the pre-login id is not the signed-in one.
      expect(cookie!.value).not.toBe(before!.value);
    } finally {
      await context.close();
    }
  });
});

describe("the session cookie over HTTPS", { timeout: E2E_TIMEOUT }, () => {
  it("is Secure with the __Host- prefix, HttpOnly and SameSite=Strict", async () => {
    const tlsDemo = await startSimDemo({ tls: await selfSignedLocalhostCert() });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      expect(tlsDemo.url).toMatch(/^https:\/\/localhost:/);
      const page = await context.newPage();
      await page.goto(tlsDemo.url);
      await loginThroughPopup(page);
      const cookies = (await context.cookies()).filter((c) => c.name.includes("codex_sid"));
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatchObject({
        name: "__Host-codex_sid",
        secure: true,
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        domain: "localhost",
      });
      expect(await page.evaluate(() => document.cookie)).not.toMatch(/codex_sid/);
    } finally {
      await context.close();
      await tlsDemo.close();
    }
  });
});
