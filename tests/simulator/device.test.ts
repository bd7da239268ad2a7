/** The simulator's device-code endpoints and device faults, through plain fetch. */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";

const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
let sim: Simulator | undefined;

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator(options);
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function post(server: Simulator, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function usercode(server: Simulator): Promise<{ device_auth_id: string; user_code: string; interval: unknown }> {
  const res = await post(server, "/api/accounts/deviceauth/usercode", { client_id: CLIENT_ID });
  expect(res.status).toBe(200);
  return (await res.json()) as { device_auth_id: string; user_code: string; interval: unknown };
}

function poll(server: Simulator, code: { device_auth_id: string; user_code: string }): Promise<Response> {
  return post(server, "/api/accounts/deviceauth/token", { device_auth_id: code.device_auth_id, user_code: code.user_code });
}

async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { error?: { code?: string } };
  return body.error?.code;
}

describe("device-code start (usercode)", () => {
  it("hands out a user code and the interval as a string", async () => {
    const server = await start({ interval: 7 });
    const code = await usercode(server);
    expect(code.interval).toBe("7");
    expect(code.user_code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{5}$/);
    expect(code.device_auth_id).toMatch(/^deviceauth_/);
    expect(server.pendingCodes()).toEqual([code.user_code]);
    expect(server.stats().usercode).toBe(1);
  });

  it("rejects a request without the Codex client id", async () => {
    const server = await start();
    expect((await post(server, "/api/accounts/deviceauth/usercode", {})).status).toBe(400);
    expect((await post(server, "/api/accounts/deviceauth/usercode", { client_id: "app_other" })).status).toBe(400);
    expect(server.pendingCodes()).toEqual([]);
  });

  it("answers 404 when device-code login is disabled, for `times` requests only", async () => {
    const server = await start();
    server.fault("device-auth-disabled", { times: 1 });
    const res = await post(server, "/api/accounts/deviceauth/usercode", { client_id: CLIENT_ID });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("deviceauth_disabled");
    await usercode(server);
  });
});

describe("device-code polling (token)", () => {
  it("says 403 pending until approved, then returns code, challenge and verifier once", async () => {
    const server = await start();
    const code = await usercode(server);
    const pending = await poll(server, code);
    expect(pending.status).toBe(403);
    expect(await errorCode(pending)).toBe("deviceauth_authorization_pending");
    expect(server.approve(code.user_code.toLowerCase())).toBe(true);
    const done = await poll(server, code);
    expect(done.status).toBe(200);
    const body = (await done.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(["authorization_code", "code_challenge", "code_verifier"]);
    // The challenge is the S256 of the verifier (RFC 7636).
    expect(createHash("sha256").update(body["code_verifier"] ?? "").digest("base64url")).toBe(body["code_challenge"]);
    expect(server.pendingCodes()).toEqual([]);
    // The device code is spent: a later poll does not hand out a second authorization code.
    expect((await poll(server, code)).status).toBe(404);
    expect(server.stats().deviceToken).toBe(3);
  });

  it("answers 404 for an unknown device authorization or a mismatched user code", async () => {
    const server = await start();
    const code = await usercode(server);
    expect((await poll(server, { device_auth_id: "deviceauth_nope", user_code: code.user_code })).status).toBe(404);
    expect((await poll(server, { device_auth_id: code.device_auth_id, user_code: "ZZZZ-ZZZZZ" })).status).toBe(404);
    expect((await post(server, "/api/accounts/deviceauth/token", { user_code: code.user_code })).status).toBe(400);
  });

  it("expires a code after codeTtlSeconds, as upstream with a 403 that names the expiry", async () => {
    let now = 1_800_000_000_000;
    const server = await start({ codeTtlSeconds: 60, now: () => now });
    const code = await usercode(server);
    now += 61_000;
    const res = await poll(server, code);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("deviceauth_expired");
    expect(server.approve(code.user_code)).toBe(false);
    expect(server.pendingCodes()).toEqual([]);
  });

  it("reports a denied code with a distinct 403", async () => {
    const server = await start();
    const code = await usercode(server);
    expect(server.deny(code.user_code)).toBe(true);
    const res = await poll(server, code);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("deviceauth_denied");
    expect(server.approve(code.user_code)).toBe(false);
  });

  it("injects code-expired and deny on the next poll", async () => {
    const server = await start();
    const first = await usercode(server);
    server.fault("code-expired", { times: 1 });
    expect(await errorCode(await poll(server, first))).toBe("deviceauth_expired");
    expect(await errorCode(await poll(server, first))).toBe("deviceauth_authorization_pending");
    server.fault("deny");
    expect(await errorCode(await poll(server, first))).toBe("deviceauth_denied");
  });

  it("answers 429 slow_down to a poll faster than the interval when slow-down is on", async () => {
    let now = 1_800_000_000_000;
    const server = await start({ interval: 5, now: () => now });
    const code = await usercode(server);
    server.fault("slow-down");
    expect((await poll(server, code)).status).toBe(403);
    now += 1_000;
    const fast = await poll(server, code);
    expect(fast.status).toBe(429);
    expect(await errorCode(fast)).toBe("slow_down");
    now += 5_000;
    expect((await poll(server, code)).status).toBe(403);
  });

  it("auto-approves after N pending polls as the given account", async () => {
    const server = await start({ autoApprove: { afterPolls: 2, email: "auto@example.com" } });
    const code = await usercode(server);
    expect((await poll(server, code)).status).toBe(403);
    expect((await poll(server, code)).status).toBe(403);
    const done = await poll(server, code);
    expect(done.status).toBe(200);
  });

  it("answers a server error or hangs on the named endpoint only", async () => {
    const server = await start();
    server.fault("server-error", { endpoint: "deviceToken", status: 503, times: 1 });
    const code = await usercode(server);
    expect((await poll(server, code)).status).toBe(503);
    server.fault("hang", { endpoint: "deviceToken" });
    await expect(
      fetch(`${server.url}/api/accounts/deviceauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(code),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    server.clearFaults();
    expect((await poll(server, code)).status).toBe(403);
    expect(server.stats().deviceToken).toBe(3);
  });
});
