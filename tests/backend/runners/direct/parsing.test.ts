import { describe, expect, it } from "vitest";
import { CodexError } from "../../../../src/backend/core/errors.js";
import { mapUpstreamReply, safeMessage } from "../../../../src/backend/runners/direct/errors.js";
import { toErrorEvent } from "../../../../src/backend/runners/error-event.js";
import { chooseModels, parseModels } from "../../../../src/backend/runners/direct/models.js";
import { responsesBody } from "../../../../src/backend/runners/direct/responses.js";
import { interpret, usageOf } from "../../../../src/backend/runners/direct/sse.js";
import { tokensFromGrant } from "../../../../src/backend/runners/direct/tokens.js";
import { decodeJwtClaims, identityFromIdToken } from "../../../../src/backend/runners/id-token.js";
import { resolveOptions } from "../../../../src/backend/runners/direct/options.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.c2ln`;

function reply(status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return { status, headers: new Headers(headers), text, json: typeof body === "string" ? undefined : body };
}

describe("JWT claims (no signature check, as the CLI)", () => {
  it("reads the account from the id_token: email, name, plan and account id", () => {
    const idToken = jwt({
      email: "ann@example.com",
      name: "Ann Ü",
      "https://api.openai.com/auth": { chatgpt_account_id: "acct-1", chatgpt_plan_type: "pro" },
    });
    expect(identityFromIdToken(idToken)).toEqual({
      account: { email: "ann@example.com", name: "Ann Ü", planType: "pro" },
      accountId: "acct-1",
    });
  });

  it("falls back to the profile claim's email and tolerates a token that is not a JWT", () => {
    expect(identityFromIdToken(jwt({ "https://api.openai.com/profile": { email: "p@example.com" } })).account.email).toBe(
      "p@example.com",
    );
    expect(decodeJwtClaims("not-a-jwt")).toBeUndefined();
    expect(decodeJwtClaims("a.%%%.c")).toBeUndefined();
    expect(identityFromIdToken("garbage")).toEqual({ account: { email: null, name: null, planType: null }, accountId: null });
  });

  it("treats an empty email claim as no email, falling back to the profile's (both runners share this)", () => {
    const token = jwt({ email: "", "https://api.openai.com/profile": { email: "p@example.com" } });
    expect(identityFromIdToken(token).account.email).toBe("p@example.com");
    expect(identityFromIdToken(undefined).account.email).toBeNull();
  });

  it("keeps the previous refresh token and identity when a refresh answer omits them", () => {
    const first = tokensFromGrant(
      { access_token: "a1", refresh_token: "r1", id_token: jwt({ email: "x@y.z" }), expires_in: 60 },
      1000,
    );
    expect(first?.expiresAt).toBe(61_000);
    const second = tokensFromGrant({ access_token: "a2", expires_in: 60 }, 2000, first);
    expect(second).toMatchObject({ accessToken: "a2", refreshToken: "r1", account: { email: "x@y.z" } });
    expect(tokensFromGrant({ access_token: "a" }, 0)).toBeUndefined();
  });
});

describe("SSE events of the Codex backend", () => {
  const msg = (data: unknown) => ({ data: JSON.stringify(data) });

  it("turns a delta into text and response.completed into done with usage", () => {
    expect(interpret(msg({ type: "response.output_text.delta", delta: "Hi" }))).toEqual({ text: "Hi" });
    const done = interpret(
      msg({
        type: "response.completed",
        response: {
          usage: {
            input_tokens: 10,
            output_tokens: 5,
            input_tokens_details: { cached_tokens: 2 },
            output_tokens_details: { reasoning_tokens: 3 },
          },
        },
      }),
    );
    expect(done.final).toEqual({
      type: "done",
      usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 2, reasoningTokens: 3 },
    });
  });

  it("skips named events that repeat the whole answer without parsing them", () => {
    expect(interpret({ event: "response.output_text.done", data: "{ not even json" })).toEqual({});
    expect(interpret({ event: "response.output_text.delta", data: JSON.stringify({ delta: "x" }) })).toEqual({ text: "x" });
  });

  it("skips garbage and unknown events instead of failing", () => {
    expect(interpret({ data: "}{ not json" })).toEqual({});
    expect(interpret(msg({ type: "response.created" }))).toEqual({});
    expect(usageOf({})).toBeUndefined();
  });

  it("maps response.failed to a typed, redacted error", () => {
    const jwtText = jwt({ sub: "x" });
    const failed = interpret(
      msg({ type: "response.failed", response: { error: { code: "context_length_exceeded", message: `too long ${jwtText}` } } }),
    ).final;
    expect(failed).toBeInstanceOf(CodexError);
    expect((failed as CodexError).code).toBe("RUN_FAILED");
    expect((failed as CodexError).message).not.toContain(jwtText);
    const limit = interpret(msg({ type: "response.failed", response: { error: { code: "usage_limit_reached" } } })).final;
    expect((limit as CodexError).code).toBe("USAGE_LIMIT");
  });
});

describe("upstream error mapping", () => {
  it("reads a usage limit's reset time (epoch ms) and plan", () => {
    const error = mapUpstreamReply(
      reply(429, { error: { type: "usage_limit_reached", plan_type: "plus", resets_at: 1775317531 } }),
      0,
    );
    expect(error.code).toBe("USAGE_LIMIT");
    expect(error.details).toEqual({ resetsAt: 1775317531000, planType: "plus" });
  });

  it("tells usage-not-included, a Cloudflare challenge, a model refusal, a rate limit and a 5xx apart", () => {
    expect(mapUpstreamReply(reply(429, { error: { type: "usage_not_included" } }), 0).code).toBe("USAGE_NOT_INCLUDED");
    expect(mapUpstreamReply(reply(403, "<html>Just a moment…</html>", { "cf-mitigated": "challenge" }), 0).code).toBe(
      "UPSTREAM_BLOCKED",
    );
    const model = mapUpstreamReply(
      reply(400, { detail: "The 'gpt-x' model is not supported when using Codex with a ChatGPT account." }),
      0,
      ["a", "b"],
    );
    expect(model.code).toBe("MODEL_NOT_AVAILABLE");
    expect(model.details.models).toEqual(["a", "b"]);
    const limited = mapUpstreamReply(reply(429, { error: { message: "slow" } }, { "retry-after": "7" }), 0);
    expect([limited.code, limited.details.retryAfter]).toEqual(["RATE_LIMITED", 7]);
    expect(mapUpstreamReply(reply(503, "down"), 0).code).toBe("UPSTREAM_UNAVAILABLE");
  });

  it("redacts tokens and paths out of an upstream message", () => {
    const secret = jwt({ email: "a@b.c" });
    const error = mapUpstreamReply(reply(418, { error: { message: `bad Bearer ${secret} at /home/ann/.codex/auth.json` } }), 0);
    expect(error.code).toBe("RUN_FAILED");
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain("/home/ann");
    expect(safeMessage("x".repeat(1000)).length).toBeLessThan(310);
  });

  it("reports a non-CodexError as INTERNAL without its message", () => {
    expect(toErrorEvent(new Error("secret detail"))).toEqual({ type: "error", code: "INTERNAL", error: "Internal error." });
  });
});

describe("model choice", () => {
  it("uses the upstream's first model when the app has no preference", () => {
    expect(chooseModels(undefined, ["m1", "m2"], undefined)).toEqual(["m1"]);
  });

  it("follows the app's preference order, filtered by the plan", () => {
    expect(chooseModels(undefined, ["m1", "m2"], ["m9", "m2", "m1"])).toEqual(["m2", "m1"]);
  });

  it("refuses a model the plan does not allow, naming the ones it does", () => {
    try {
      chooseModels("m9", ["m1", "m2"], undefined);
      expect.unreachable();
    } catch (error) {
      expect((error as CodexError).code).toBe("MODEL_NOT_AVAILABLE");
      expect((error as CodexError).details.models).toEqual(["m1", "m2"]);
    }
    expect(() => chooseModels(undefined, ["m1"], ["m9"])).toThrow(CodexError);
  });

  it("reads slugs from /codex/models", () => {
    expect(parseModels({ models: [{ slug: "a" }, { slug: "b" }, { nope: 1 }, { slug: "a" }] })).toEqual(["a", "b"]);
    expect(parseModels({})).toBeUndefined();
  });
});

describe("request body and options", () => {
  it("sends a stream-only, unstored turn with instructions and history", () => {
    const body = JSON.parse(
      responsesBody({
        model: "m",
        prompt: "now",
        instructions: "be brief",
        history: [
          { role: "user", text: "before" },
          { role: "assistant", text: "reply" },
        ],
        effort: "low",
        sessionId: "s",
      }),
    );
    expect(body).toMatchObject({ model: "m", instructions: "be brief", store: false, stream: true, reasoning: { effort: "low" } });
    expect(body.input.map((m: any) => [m.role, m.content[0].type, m.content[0].text])).toEqual([
      ["user", "input_text", "before"],
      ["assistant", "output_text", "reply"],
      ["user", "input_text", "now"],
    ]);
  });

  it("rejects a non-http issuer and an empty model list at construction", () => {
    expect(() => resolveOptions({ issuer: "javascript:alert(1)" })).toThrow(TypeError);
    expect(() => resolveOptions({ models: [] })).toThrow(TypeError);
    expect(resolveOptions({ issuer: "http://127.0.0.1:9/" }).issuer).toBe("http://127.0.0.1:9");
  });
});
