/**
 * A broken or hostile sign-in service answering 200 with values no real one
 * sends: each is bounded in the direct runner and never reaches the browser,
 * the session, or a crash. The simulator's tampered-answer fault sends them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CodexError } from "../../../../src/backend/core/errors.js";
import type { RunnerContext } from "../../../../src/backend/runners/types.js";
import { tokensFromGrant } from "../../../../src/backend/runners/direct/tokens.js";
import type { TestAccount } from "../../../../src/simulator/index.js";
import { startHarness, type Harness } from "../../../support/direct-harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** An unsigned token with these claims: the runner reads claims without checking signatures, as the CLI does. */
const jwt = (claims: unknown) => `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
const AUTH_CLAIM = "https://api.openai.com/auth";

async function failureOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: "none", message: "" };
  } catch (error) {
    return error instanceof CodexError ? { code: error.code, message: error.message } : { code: "not a CodexError", message: String(error) };
  }
}

/** What the browser saw of the whole exchange, as one string. */
const seenByBrowser = (harness: Harness) => JSON.stringify(harness.client.seen);

/** Through the handler: session, login/start, approve as `account`, then the first /status answer after approval. */
async function signInThroughHandler(harness: Harness, account?: TestAccount): Promise<{ status: number; body: any }> {
  await harness.client.json("/session", { method: "POST" });
  const start = await harness.client.json("/login/start", { method: "POST" });
  if (!harness.sim.approve(start.body.userCode, account)) throw new Error("approve failed");
  return harness.client.json("/status");
}

describe("the usercode answer", () => {
  const hostile: Array<[string, Record<string, unknown>]> = [
    ["a 200 KB user_code", { user_code: "A".repeat(200_000) }],
    ["a user_code carrying markup", { user_code: "<img src=x onerror=alert(1)>" }],
    ["a user_code that is a number", { user_code: 12345678 }],
    ["a 100 KB device_auth_id", { device_auth_id: "d".repeat(100_000) }],
  ];
  for (const [what, fields] of hostile) {
    it(`refuses ${what} as an unreadable answer, keeping nothing of it in the session`, async () => {
      h = await startHarness();
      h.sim.fault("tampered-answer", { endpoint: "usercode", fields });
      const ctx: RunnerContext = { id: "s", data: {} };
      expect(await failureOf(h.runner.startDeviceLogin(ctx))).toEqual({
        code: "UPSTREAM_UNAVAILABLE",
        message: "The sign-in service gave an unreadable answer.",
      });
      expect(ctx.data).toEqual({}); // not even an empty section: a refused answer writes nothing
      // And through the handler: a short typed error, nothing echoed.
      await h.client.json("/session", { method: "POST" });
      const start = await h.client.json("/login/start", { method: "POST" });
      expect(start).toEqual({ status: 502, body: { code: "UPSTREAM_UNAVAILABLE", error: "The sign-in service gave an unreadable answer." } });
    });
  }

  it("caps an absurd poll interval at a minute, so the session stays readable and the login completes", async () => {
    let clock = Date.now();
    h = await startHarness({}, { now: () => clock });
    h.sim.fault("tampered-answer", { endpoint: "usercode", fields: { interval: 1e308 }, times: 1 });
    await h.client.json("/session", { method: "POST" });
    const start = await h.client.json("/login/start", { method: "POST" });
    expect((await h.client.json("/status")).body).toEqual({ ok: false, status: "pending" });
    h.sim.approve(start.body.userCode);
    expect((await h.client.json("/status")).body).toEqual({ ok: false, status: "pending" }); // within the minute: no poll
    clock += 61_000;
    expect((await h.client.json("/status")).body).toMatchObject({ ok: true, account: { email: "user@example.com" } });
  });
});

describe("the id_token of the code exchange", () => {
  const unreadable: Array<[string, string]> = [
    ["is not a JWT", "not-a-jwt"],
    ["is not base64", "a.%%%%.c"],
    ["holds invalid UTF-8", `${b64({})}.${Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xff]), Buffer.from('@example.com"}')]).toString("base64url")}.c2ln`],
    ["has claims that are not an object", jwt(["ann@example.com"])],
    ["is 200 KB long", jwt({ email: `${"a".repeat(200_000)}@example.com` })],
  ];
  for (const [what, idToken] of unreadable) {
    it(`ends the login when it ${what}, as the codex CLI does, and shows nothing of it`, async () => {
      h = await startHarness();
      h.sim.fault("tampered-answer", { endpoint: "codeExchange", fields: { id_token: idToken } });
      const status = await signInThroughHandler(h);
      expect(status.body).toMatchObject({ ok: false, status: "expired", code: "LOGIN_EXPIRED" });
      expect(h.sim.stats().codeExchange).toBe(1);
      expect(seenByBrowser(h)).not.toContain("aaaaaaaa");
    });
  }

  it("shows no email, name or plan that is huge or not a string, and keeps the sign-in", async () => {
    h = await startHarness();
    const claims = {
      email: `${"a".repeat(1000)}@example.com`,
      name: { first: "Ann" },
      [AUTH_CLAIM]: { chatgpt_plan_type: "p".repeat(5000), chatgpt_account_id: "acct-1" },
    };
    h.sim.fault("tampered-answer", { endpoint: "codeExchange", fields: { id_token: jwt(claims) } });
    const status = await signInThroughHandler(h);
    expect(status.body).toEqual({ ok: true, account: { email: null } });
    expect(seenByBrowser(h)).not.toMatch(/aaaaaaaa|pppppppp/);
  });

  it("shows no email longer than an address can be, even when the upstream account really has one", async () => {
    h = await startHarness();
    const status = await signInThroughHandler(h, { email: `${"b".repeat(400)}@example.com`, planType: "pro" });
    expect(status.body).toEqual({ ok: true, account: { email: null, name: "Test User", planType: "pro" } });
    expect(seenByBrowser(h)).not.toContain("bbbbbbbb");
  });
});

describe("the lifetime of the access token", () => {
  it("does not refresh on every run when expires_in is negative", async () => {
    h = await startHarness();
    h.sim.fault("tampered-answer", { endpoint: "codeExchange", fields: { expires_in: -60 }, times: 1 });
    await h.client.signIn(h.sim);
    for (let i = 0; i < 3; i++) expect((await h.client.run("hello")).events.at(-1)).toMatchObject({ type: "done" });
    expect(h.sim.stats().refresh).toBe(0);
  });

  it("still refreshes ahead of expiry when expires_in claims ten years (and the token's exp too)", async () => {
    let clock = Date.now();
    h = await startHarness({ accessTokenTtlSeconds: 10 * 365 * 24 * 3600 }, { now: () => clock });
    await h.client.signIn(h.sim);
    clock += 2 * 3_600_000;
    expect((await h.client.run("hello")).events.at(-1)).toMatchObject({ type: "done" });
    expect(h.sim.stats().refresh).toBe(1);
  });

  it("keeps the rotated refresh token and the known identity when a refresh's id_token cannot be read", async () => {
    let clock = Date.now();
    h = await startHarness({}, { now: () => clock });
    await h.client.signIn(h.sim, { email: "ann@example.com" });
    h.sim.fault("tampered-answer", { endpoint: "refresh", fields: { id_token: "not-a-jwt" }, times: 1 });
    clock += 2 * 3_600_000;
    expect((await h.client.run("hello")).events.at(-1)).toMatchObject({ type: "done" });
    expect((await h.client.json("/status")).body).toMatchObject({ ok: true, account: { email: "ann@example.com" } });
    clock += 2 * 3_600_000;
    expect((await h.client.run("again")).events.at(-1)).toMatchObject({ type: "done" });
    expect(h.sim.stats()).toMatchObject({ refresh: 2, refreshReuse: 0 });
  });
});

describe("a token answer read on its own", () => {
  const NOW = 1_700_000_000_000;
  const grant = (extra: Record<string, unknown>) => ({ access_token: "a", refresh_token: "r", id_token: jwt({ email: "x@y.z" }), ...extra });

  it("takes an expires_in that is no number, negative, infinite or beyond a year as one hour", () => {
    for (const expiresIn of ["NaN", "Infinity", "1e400", -5, 0, 400 * 24 * 3600, null, { seconds: 60 }]) {
      expect(tokensFromGrant(grant({ expires_in: expiresIn }), NOW)?.expiresAt).toBe(NOW + 3_600_000);
    }
    expect(tokensFromGrant(grant({ expires_in: "120" }), NOW)?.expiresAt).toBe(NOW + 120_000);
  });

  it("refuses a refresh answer whose new refresh token is 100 KB, rather than keep the one just spent", () => {
    const previous = tokensFromGrant(grant({ expires_in: 60 }), NOW)!;
    expect(tokensFromGrant({ access_token: "a2", refresh_token: "r".repeat(100_000) }, NOW, previous)).toBeUndefined();
    expect(tokensFromGrant({ access_token: "a".repeat(100_000), refresh_token: "r2" }, NOW, previous)).toBeUndefined();
  });
});
