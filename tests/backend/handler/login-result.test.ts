import { describe, expect, it } from "vitest";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexRunner, DeviceLoginResult } from "../../../src/backend/runners/types.js";
import { Browser, SECRET } from "../../support/handler-harness.js";

type Started = Extract<DeviceLoginResult, { status: "started" }>;
const GOOD: Started = { status: "started", loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-12345", expiresAt: Date.now() + 900_000 };

/** A custom runner whose device login starts with whatever the test hands it. */
function runnerStarting(started: Started): CodexRunner {
  return {
    startDeviceLogin: async () => started,
    getStatus: async () => ({ status: "pending" }),
    run: () => (async function* () {})(),
    logout: async () => undefined,
  };
}

async function loginStart(started: Started): Promise<{ status: number; text: string }> {
  const browser = new Browser(createCodexHandler({ runner: runnerStarting(started), cookieSecret: SECRET, rateLimits: false }));
  await browser.post("/session");
  const answer = await browser.post("/login/start");
  return { status: answer.status, text: await answer.text() };
}

describe("POST /login/start with a custom runner's started login", () => {
  const hostile: Array<[string, Partial<Started>, string]> = [
    ["a 200 KB user code", { userCode: "A".repeat(200_000) }, "A".repeat(64)],
    ["a user code carrying markup", { userCode: '<img src=x onerror="alert(1)">' }, "onerror"],
    ["a user code with a line break", { userCode: "ABCD\r\nSet-Cookie: x=1" }, "Set-Cookie"],
    ["a plain-http link to another host", { loginUrl: "http://evil.test/codex/device" }, "evil.test"],
    ["a javascript: link", { loginUrl: "javascript:alert(document.cookie)" }, "javascript"],
    ["a link with user info in front of the real host", { loginUrl: "https://auth.openai.com@evil.test/codex/device" }, "evil.test"],
    ["a 3 KB link", { loginUrl: `https://auth.openai.com/codex/device?${"q".repeat(3000)}` }, "q".repeat(64)],
    ["a negative expiry", { expiresAt: -1 }, "-1"],
    ["an expiry past any date", { expiresAt: 1e300 }, "1e+300"],
  ];
  for (const [what, change, leak] of hostile) {
    it(`refuses ${what} with 502 UPSTREAM_UNAVAILABLE and does not echo it`, async () => {
      const answer = await loginStart({ ...GOOD, ...change });
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.text)).toEqual({ code: "UPSTREAM_UNAVAILABLE", error: expect.stringMatching(/unusable login/) });
      expect(answer.text).not.toContain(leak);
      expect(answer.text.length).toBeLessThan(200);
    });
  }

  it("passes a well-formed login through, an https link or a loopback one for a local simulator", async () => {
    for (const loginUrl of [GOOD.loginUrl, "http://127.0.0.1:4010/codex/device", "http://localhost:4010/codex/device"]) {
      const answer = await loginStart({ ...GOOD, loginUrl });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ loginUrl, userCode: GOOD.userCode, expiresAt: GOOD.expiresAt });
    }
  });
});
