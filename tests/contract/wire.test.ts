import { describe, expect, it } from "vitest";
import type { ServerErrorCode } from "../../src/contract.js";
import { CodexError } from "../../src/backend/core/errors.js";
import { Browser, makeHarness } from "../support/handler-harness.js";
import type { RunScript } from "../support/test-runner.js";

// The exact bytes each answer carries: key order included, so a typed rewrite of a route cannot drift the wire.

async function answer(response: Response): Promise<[number, string]> {
  return [response.status, await response.text()];
}

async function signedIn(run?: RunScript): Promise<Browser> {
  const harness = makeHarness();
  if (run !== undefined) harness.runner.options.run = run;
  const browser = new Browser(harness.handler);
  await browser.signIn(harness.runner);
  return browser;
}

const ACCOUNT = '{"email":"ann@example.com","planType":"plus"}';

describe("the wire, byte for byte", () => {
  it("answers POST /session with {ok:true}, new or reused", async () => {
    const browser = new Browser(makeHarness().handler);
    expect(await answer(await browser.post("/session"))).toEqual([200, '{"ok":true}']);
    expect(await answer(await browser.post("/session"))).toEqual([200, '{"ok":true}']);
  });

  it("answers each step of a device login in the contract's field order", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    expect(await answer(await browser.get("/status"))).toEqual([401, '{"ok":false,"status":"logged_out","code":"NO_SESSION"}']);
    expect(await answer(await browser.post("/login/start"))).toEqual([401, '{"ok":false,"code":"NO_SESSION","error":"No session; call POST /session first."}']);
    await browser.post("/session");
    expect(await answer(await browser.get("/status"))).toEqual([401, '{"ok":false,"status":"logged_out","code":"NOT_AUTHENTICATED"}']);
    const planted = browser.cookie;

    const [status, text] = await answer(await browser.post("/login/start"));
    const started = JSON.parse(text) as { loginUrl: string; userCode: string; expiresAt: number };
    expect(status).toBe(200);
    expect(text).toBe(`{"loginUrl":"https://auth.openai.com/codex/device","userCode":"${started.userCode}","expiresAt":${started.expiresAt}}`);
    expect(await answer(await browser.get("/status"))).toEqual([200, '{"ok":false,"status":"pending"}']);

    const stale = new Browser(handler);
    stale.cookie = planted;
    const rotated = '{"ok":false,"status":"rotated","code":"SESSION_ROTATED","error":"This session was just renewed; retry the request."}';
    expect(await answer(await stale.get("/status"))).toEqual([409, rotated]);
    expect(await answer(await stale.post("/logout"))).toEqual([409, rotated]);

    runner.approve();
    expect(await answer(await browser.get("/status"))).toEqual([200, `{"ok":true,"account":${ACCOUNT}}`]);
    expect(await answer(await browser.get("/status"))).toEqual([200, `{"ok":true,"account":${ACCOUNT}}`]);
    expect(await answer(await browser.post("/login/start"))).toEqual([200, `{"ok":true,"loggedIn":true,"account":${ACCOUNT}}`]);
    expect(await answer(await browser.post("/logout"))).toEqual([200, "{}"]);
    expect(await answer(await browser.post("/logout"))).toEqual([200, "{}"]);
  });

  it("answers an expired device code with its code and message", async () => {
    const { handler, runner } = makeHarness();
    const browser = new Browser(handler);
    await browser.post("/session");
    await browser.post("/login/start");
    runner.fail("expired");
    expect(await answer(await browser.get("/status"))).toEqual([200, '{"ok":false,"status":"expired","code":"LOGIN_EXPIRED","error":"The login code expired; start again."}']);
  });

  it("answers DEVICE_AUTH_NOT_ENABLED with the seed's errorCode first, then code, message and details", async () => {
    const { handler, runner } = makeHarness();
    runner.options.startError = new CodexError("DEVICE_AUTH_NOT_ENABLED", "Enable device code login.", { details: { planType: "plus" } });
    const browser = new Browser(handler);
    await browser.post("/session");
    expect(await answer(await browser.post("/login/start"))).toEqual([
      403,
      '{"errorCode":"DEVICE_AUTH_NOT_ENABLED","code":"DEVICE_AUTH_NOT_ENABLED","error":"Enable device code login.","planType":"plus"}',
    ]);
  });

  it("writes a runner's error details in one order, bounded, whatever order it gave them in", async () => {
    const { handler, runner } = makeHarness();
    runner.options.startError = new CodexError("USAGE_LIMIT", "Usage limit reached.", {
      details: { retryAfter: 2.5, models: ["gpt-5", 7 as unknown as string], planType: "plus", resetsAt: 1_700_000_000_000 },
    });
    const browser = new Browser(handler);
    await browser.post("/session");
    const response = await browser.post("/login/start");
    expect(response.headers.get("retry-after")).toBe("3");
    expect(await answer(response)).toEqual([
      429,
      '{"code":"USAGE_LIMIT","error":"Usage limit reached.","resetsAt":1700000000000,"planType":"plus","models":["gpt-5"],"retryAfter":3}',
    ]);
  });

  it("answers an unknown route and a wrong method with code and message only", async () => {
    const browser = new Browser(makeHarness().handler);
    expect(await answer(await browser.post("/nope"))).toEqual([404, '{"code":"NOT_FOUND","error":"Not found."}']);
    expect(await answer(await browser.get("/session"))).toEqual([405, '{"code":"METHOD_NOT_ALLOWED","error":"Use POST."}']);
  });

  it("streams text then done without the text again", async () => {
    const browser = await signedIn();
    expect(await answer(await browser.post("/run/stream", { prompt: "hi" }))).toEqual([
      200,
      '{"type":"assistant-text","mode":"append","text":"Echo:"}\n' +
        '{"type":"assistant-text","mode":"append","text":" hi"}\n' +
        '{"type":"done","result":{"usage":{"inputTokens":3,"outputTokens":2}}}\n',
    ]);
  });

  it("rebuilds a runner's error event from known fields in one order, dropping anything else", async () => {
    const browser = await signedIn(async function* () {
      yield { type: "error", models: ["gpt-5"], accessToken: "leak", retryAfter: 1.2, code: "MODEL_NOT_AVAILABLE", error: "Pick another model.", planType: "pro", resetsAt: 5 } as never;
    });
    expect(await answer(await browser.post("/run/stream", { prompt: "hi" }))).toEqual([
      200,
      '{"type":"error","code":"MODEL_NOT_AVAILABLE","error":"Pick another model.","resetsAt":5,"planType":"pro","models":["gpt-5"],"retryAfter":2}\n',
    ]);
  });

  it("turns an error event with a code outside the contract into RUN_FAILED", async () => {
    const browser = await signedIn(async function* () {
      yield { type: "error", code: "constructor", error: "odd" } as never;
    });
    expect(await answer(await browser.post("/run/stream", { prompt: "hi" }))).toEqual([200, '{"type":"error","code":"RUN_FAILED","error":"odd"}\n']);
  });
});

describe("a plain-JS runner's CodexError with a code outside the contract", () => {
  // Before: the status table had no entry, so the answer went out as 200 with the foreign code.
  it.each(["constructor", "__proto__", "NOT_A_CODE"])("answers %s as 500 INTERNAL, not 200", async (foreign) => {
    const { handler, runner } = makeHarness();
    runner.options.startError = new CodexError(foreign as ServerErrorCode, "Something odd.");
    const browser = new Browser(handler);
    await browser.post("/session");
    expect(await answer(await browser.post("/login/start"))).toEqual([500, '{"code":"INTERNAL","error":"Something odd."}']);
  });
});
