/** The simulator's /oauth/token (code exchange, refresh) and /oauth/revoke, its JWTs and revoke-all. */
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/simulator/index.js";

const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

interface Tokens {
  id_token: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

function json(server: Simulator, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function form(server: Simulator, path: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", body: new URLSearchParams(fields) });
}

/** Run the device flow up to the approved poll: returns the authorization code and verifier. */
async function approvedCode(server: Simulator, account = {}): Promise<{ authorization_code: string; code_verifier: string }> {
  const start = (await (await json(server, "/api/accounts/deviceauth/usercode", { client_id: CLIENT_ID })).json()) as {
    device_auth_id: string;
    user_code: string;
  };
  server.approve(start.user_code, account);
  const res = await json(server, "/api/accounts/deviceauth/token", start);
  return (await res.json()) as { authorization_code: string; code_verifier: string };
}

function exchangeFields(server: Simulator, code: { authorization_code: string; code_verifier: string }) {
  return {
    grant_type: "authorization_code",
    client_id: CLIENT_ID,
    code: code.authorization_code,
    redirect_uri: `${server.url}/deviceauth/callback`,
    code_verifier: code.code_verifier,
  };
}

async function login(options: SimulatorOptions = {}, account = {}): Promise<{ server: Simulator; tokens: Tokens }> {
  const server = await startSimulator(options);
  sim = server;
  const res = await form(server, "/oauth/token", exchangeFields(server, await approvedCode(server, account)));
  expect(res.status).toBe(200);
  return { server, tokens: (await res.json()) as Tokens };
}

function refresh(server: Simulator, refreshToken: string): Promise<Response> {
  return json(server, "/oauth/token", {
    client_id: CLIENT_ID,
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    refresh_reason: "proactive_expiry",
  });
}

function claims(jwt: string): Record<string, unknown> {
  const [header, payload, signature] = jwt.split(".");
  expect(JSON.parse(Buffer.from(header ?? "", "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
  expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<string, unknown>;
}

function check(server: Simulator, accessToken: string, accountId = "3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a") {
  return fetch(`${server.url}/backend-api/wham/accounts/check`, {
    headers: { authorization: `Bearer ${accessToken}`, "chatgpt-account-id": accountId },
  });
}

describe("code exchange", () => {
  it("issues id, access and refresh tokens for a form-encoded exchange with the right verifier", async () => {
    const { server, tokens } = await login({ accessTokenTtlSeconds: 1234 }, { email: "ada@example.com", planType: "pro" });
    expect(tokens.expires_in).toBe(1234);
    const id = claims(tokens.id_token);
    expect(id["email"]).toBe("ada@example.com");
    expect(id["iss"]).toBe(server.url);
    expect(id["aud"]).toEqual([CLIENT_ID]);
    expect(id["https://api.openai.com/auth"]).toMatchObject({
      chatgpt_account_id: "3f1e7c1a-5b7d-4e0c-9a51-2d4c1f0b8e6a",
      chatgpt_plan_type: "pro",
    });
    expect(Number(id["exp"]) - Number(id["iat"])).toBe(1234);
    const access = claims(tokens.access_token);
    expect(access["email"]).toBeUndefined();
    expect(access["https://api.openai.com/profile"]).toEqual({ email: "ada@example.com", email_verified: true });
    expect(server.issuedTokens()).toEqual([tokens.access_token, tokens.refresh_token, tokens.id_token]);
    expect(server.stats().codeExchange).toBe(1);
  });

  it("rejects a wrong verifier, a foreign redirect_uri, a JSON body and a reused code", async () => {
    const server = await startSimulator();
    sim = server;
    const code = await approvedCode(server);
    const fields = exchangeFields(server, code);
    const wrongVerifier = await form(server, "/oauth/token", { ...fields, code_verifier: "x".repeat(64) });
    expect(wrongVerifier.status).toBe(400);
    expect(await wrongVerifier.json()).toMatchObject({ error: "invalid_grant" });
    const wrongRedirect = await form(server, "/oauth/token", { ...fields, redirect_uri: "https://evil.example/deviceauth/callback" });
    expect(wrongRedirect.status).toBe(400);
    expect((await json(server, "/oauth/token", fields)).status).toBe(400);
    expect((await form(server, "/oauth/token", { ...fields, client_id: "app_other" })).status).toBe(400);
    expect((await form(server, "/oauth/token", fields)).status).toBe(200);
    const reused = await form(server, "/oauth/token", fields);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: "invalid_grant" });
    expect(server.issuedTokens()).toHaveLength(3);
  });
});

describe("refresh", () => {
  it("rotates the refresh token and issues a fresh access token", async () => {
    const { server, tokens } = await login();
    const res = await refresh(server, tokens.refresh_token);
    expect(res.status).toBe(200);
    const next = (await res.json()) as Tokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    expect(next.id_token).toBeTruthy();
    expect((await check(server, next.access_token)).status).toBe(200);
    expect(server.stats().refresh).toBe(1);
  });

  it("answers 401 refresh_token_reused to a rotated token and counts the reuse", async () => {
    const { server, tokens } = await login();
    expect((await refresh(server, tokens.refresh_token)).status).toBe(200);
    const reuse = await refresh(server, tokens.refresh_token);
    expect(reuse.status).toBe(401);
    expect(await reuse.json()).toEqual({
      error: {
        message: "Your refresh token has already been used to generate a new access token. Please try signing in again.",
        type: "invalid_request_error",
        param: null,
        code: "refresh_token_reused",
      },
    });
    expect(server.stats()).toMatchObject({ refresh: 2, refreshReuse: 1 });
  });

  it("lets exactly one of two concurrent refreshes of one token win", async () => {
    const { server, tokens } = await login();
    const results = await Promise.all([refresh(server, tokens.refresh_token), refresh(server, tokens.refresh_token)]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 401]);
    expect(server.stats().refreshReuse).toBe(1);
  });

  it("rejects an unknown refresh token as invalidated", async () => {
    const { server } = await login();
    const res = await refresh(server, "rt_made_up");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("refresh_token_invalidated");
  });

  it("fails the refresh endpoint on a server-error fault for it alone", async () => {
    const { server, tokens } = await login();
    server.fault("server-error", { endpoint: "refresh", status: 502 });
    expect((await refresh(server, tokens.refresh_token)).status).toBe(502);
    expect((await check(server, tokens.access_token)).status).toBe(200);
  });
});

describe("revocation", () => {
  it("revokes the whole grant: refresh token and access token stop working", async () => {
    const { server, tokens } = await login();
    const res = await json(server, "/oauth/revoke", { token: tokens.refresh_token, token_type_hint: "refresh_token", client_id: CLIENT_ID });
    expect(res.status).toBe(200);
    expect(server.stats().revoke).toBe(1);
    expect((await check(server, tokens.access_token)).status).toBe(401);
    const again = await refresh(server, tokens.refresh_token);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("refresh_token_invalidated");
  });

  it("answers 200 for an unknown token and 400 without one", async () => {
    const { server } = await login();
    expect((await json(server, "/oauth/revoke", { token: "nope" })).status).toBe(200);
    expect((await json(server, "/oauth/revoke", {})).status).toBe(400);
  });

  it("invalidates every token issued so far with revoke-all, but not later logins", async () => {
    const { server, tokens } = await login();
    server.fault("revoke-all");
    const check1 = await check(server, tokens.access_token);
    expect(check1.status).toBe(401);
    expect(((await check1.json()) as { error: { code: string } }).error.code).toBe("token_invalidated");
    expect((await refresh(server, tokens.refresh_token)).status).toBe(401);
    const res = await form(server, "/oauth/token", exchangeFields(server, await approvedCode(server)));
    const fresh = (await res.json()) as Tokens;
    expect((await check(server, fresh.access_token)).status).toBe(200);
  });
});

describe("tampered answers (a broken or hostile upstream)", () => {
  it("writes the fault's fields over the next answer of its endpoint only, then answers truly again", async () => {
    const { server, tokens } = await login();
    server.fault("tampered-answer", { endpoint: "refresh", fields: { id_token: "not-a-jwt", expires_in: -60 }, times: 1 });
    const usercode = await json(server, "/api/accounts/deviceauth/usercode", { client_id: CLIENT_ID });
    expect(((await usercode.json()) as { user_code: string }).user_code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{5}$/);
    const tampered = (await (await refresh(server, tokens.refresh_token)).json()) as Tokens;
    expect([tampered.id_token, tampered.expires_in]).toEqual(["not-a-jwt", -60]);
    // The rest of the answer, and the simulator's state, are real: the rotated refresh token works.
    expect((await check(server, tampered.access_token)).status).toBe(200);
    const next = (await (await refresh(server, tampered.refresh_token)).json()) as Tokens;
    expect(claims(next.id_token).token_use).toBe("id");
  });
});
