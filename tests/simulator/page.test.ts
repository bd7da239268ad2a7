/** The simulator's /codex/device approval page: plain HTTP, hostile input, and a keyboard-only run in Chromium with axe. */
import { AxeBuilder } from "@axe-core/playwright";
import { chromium, type Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";

const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function withCode(options: SimulatorOptions = {}): Promise<{ server: Simulator; userCode: string; deviceAuthId: string }> {
  const server = await startSimulator(options);
  sim = server;
  const res = await fetch(`${server.url}/api/accounts/deviceauth/usercode`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: CLIENT_ID }),
  });
  const body = (await res.json()) as { user_code: string; device_auth_id: string };
  return { server, userCode: body.user_code, deviceAuthId: body.device_auth_id };
}

function submit(server: Simulator, fields: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}/codex/device`, { method: "POST", body: new URLSearchParams(fields) });
}

describe("the approval page over HTTP", () => {
  it("serves a labelled Code input with Approve and Deny, locked down by CSP", async () => {
    const { server } = await withCode();
    const res = await fetch(`${server.url}/codex/device`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<title>[^<]+<\/title>/);
    expect(html).toContain('<label for="user-code">Code</label>');
    expect(html).toContain('id="user-code"');
    expect(html).toMatch(/<button[^>]*value="approve">Approve<\/button>/);
    expect(html).toMatch(/<button[^>]*value="deny">Deny<\/button>/);
    expect(html).not.toContain("<script");
  });

  it("approves a typed code (any case, spaces or no dash) and confirms it", async () => {
    const { server, userCode } = await withCode();
    const typed = ` ${userCode.replace("-", "").toLowerCase()} `;
    const res = await submit(server, { user_code: typed, action: "approve" });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Approved.");
    expect(server.pendingCodes()).toEqual([]);
  });

  it("approves as pageAccount when one is configured", async () => {
    const { server, userCode, deviceAuthId } = await withCode({ pageAccount: { email: "page@example.com", planType: "pro" } });
    await submit(server, { user_code: userCode, action: "approve" });
    const poll = await fetch(`${server.url}/api/accounts/deviceauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ device_auth_id: deviceAuthId, user_code: userCode }),
    });
    const code = (await poll.json()) as Record<string, string>;
    const tokens = await fetch(`${server.url}/oauth/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: CLIENT_ID,
        code: code["authorization_code"] ?? "",
        redirect_uri: `${server.url}/deviceauth/callback`,
        code_verifier: code["code_verifier"] ?? "",
      }),
    });
    const idToken = ((await tokens.json()) as { id_token: string }).id_token;
    const claims = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;
    expect(claims["email"]).toBe("page@example.com");
    expect(claims["https://api.openai.com/auth"]).toMatchObject({ chatgpt_plan_type: "pro" });
  });

  it("denies a code from the page", async () => {
    const { server, userCode, deviceAuthId } = await withCode();
    const res = await submit(server, { user_code: userCode, action: "deny" });
    expect(await res.text()).toContain("Denied.");
    const poll = await fetch(`${server.url}/api/accounts/deviceauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ device_auth_id: deviceAuthId, user_code: userCode }),
    });
    expect(((await poll.json()) as { error: { code: string } }).error.code).toBe("deviceauth_denied");
  });

  it("never echoes hostile input back into the page", async () => {
    const { server } = await withCode();
    const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const res = await submit(server, { user_code: hostile, action: hostile });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("not valid or has expired");
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("onerror");
    const json = await fetch(`${server.url}/codex/device`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_code: hostile }),
    });
    expect(json.status).toBe(415);
  });
});

describe("the approval page in Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("approves with the keyboard alone and passes axe on both screens", async () => {
    const { server, userCode } = await withCode();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/codex/device`);
      const before = await new AxeBuilder({ page }).analyze();
      expect(before.violations.map((violation) => violation.id)).toEqual([]);
      // The input has focus on load: type, Tab to Approve, Enter.
      await page.keyboard.type(userCode);
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Approve");
      await page.keyboard.press("Enter");
      await page.getByRole("status").waitFor();
      expect(await page.getByRole("status").textContent()).toContain("Approved.");
      const after = await new AxeBuilder({ page }).analyze();
      expect(after.violations.map((violation) => violation.id)).toEqual([]);
      expect(server.pendingCodes()).toEqual([]);
      expect(await page.getByLabel("Code").count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("shows an alert and keeps the form for a wrong code", async () => {
    const { server } = await withCode();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/codex/device`);
      await page.getByLabel("Code").fill("WRNG-CODE1");
      await page.getByRole("button", { name: "Approve" }).click();
      await page.getByRole("alert").waitFor();
      expect(await page.getByLabel("Code").count()).toBe(1);
      const axe = await new AxeBuilder({ page }).analyze();
      expect(axe.violations.map((violation) => violation.id)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
