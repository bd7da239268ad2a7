import { readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  CLIENT_ERROR_CODES,
  SERVER_ERROR_CODES,
  type ErrorBody,
  type ErrorDetails,
  type ErrorEvent,
  type RouteResponses,
  type RunEvent,
  type ServerErrorCode,
} from "../../src/contract.js";
import { defaultStatus, isServerErrorCode, type CodexErrorDetails } from "../../src/backend/core/errors.js";
import { errorReply, jsonReply, ndjsonReply } from "../../src/backend/http/replies.js";
import { postLoginStart } from "../../src/backend/routes/login-start.js";
import { postLogout } from "../../src/backend/routes/logout.js";
import { postRunStream } from "../../src/backend/routes/run/route.js";
import { postSession } from "../../src/backend/routes/session.js";
import { noSessionReply, rateLimited, rotatedReply, type RouteReply } from "../../src/backend/routes/shared.js";
import { getStatus } from "../../src/backend/routes/status.js";
import { encodeRunEvent } from "../../src/backend/routes/run/wire-events.js";

// The type-level half runs under `tsc --noEmit` (the first step of `npm test`): each
// `@ts-expect-error` below is a body the server must not be able to send. If a
// route's reply stopped being checked, the directive would be unused and tsc fails.

const account = { email: "ann@example.com" };

describe("each route answers only its contract type", () => {
  it("binds every route function to its entry in RouteResponses", () => {
    expectTypeOf(postSession).returns.resolves.toEqualTypeOf<RouteReply<"session">>();
    expectTypeOf(postLoginStart).returns.resolves.toEqualTypeOf<RouteReply<"loginStart">>();
    expectTypeOf(getStatus).returns.resolves.toEqualTypeOf<RouteReply<"status">>();
    expectTypeOf(postRunStream).returns.resolves.toEqualTypeOf<RouteReply<"runStream">>();
    expectTypeOf(postLogout).returns.resolves.toEqualTypeOf<RouteReply<"logout">>();
    expectTypeOf<keyof RouteResponses>().toEqualTypeOf<"session" | "loginStart" | "status" | "runStream" | "logout">();
  });

  it("refuses a /session body with a field the contract does not have", () => {
    const fine: RouteReply<"session"> = jsonReply(200, { ok: true });
    // @ts-expect-error a session answer has no loggedIn
    const loggedIn: RouteReply<"session"> = jsonReply(200, { ok: true, loggedIn: true });
    expect([fine.body, loggedIn.body]).toEqual(['{"ok":true}', '{"ok":true,"loggedIn":true}']);
  });

  it("refuses a /login/start body with a misspelt or mistyped field", () => {
    const fine: RouteReply<"loginStart"> = jsonReply(200, { loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-1234", expiresAt: 1 });
    // @ts-expect-error userCode misspelt
    const misspelt: RouteReply<"loginStart"> = jsonReply(200, { loginUrl: "https://auth.openai.com/codex/device", usercode: "ABCD-1234", expiresAt: 1 });
    // @ts-expect-error expiresAt is epoch milliseconds, not a text
    const mistyped: RouteReply<"loginStart"> = jsonReply(200, { loginUrl: "https://auth.openai.com/codex/device", userCode: "ABCD-1234", expiresAt: "soon" });
    // @ts-expect-error the seed's errorCode field is DEVICE_AUTH_NOT_ENABLED only
    const foreign: RouteReply<"loginStart"> = jsonReply(403, { errorCode: "USAGE_LIMIT", code: "USAGE_LIMIT", error: "x" });
    expect([fine.status, misspelt.status, mistyped.status, foreign.status]).toEqual([200, 200, 200, 403]);
  });

  it("refuses a /status body with a misspelt field or a status the contract does not name", () => {
    const fine: RouteReply<"status"> = jsonReply(200, { ok: true, account });
    // @ts-expect-error account misspelt
    const misspelt: RouteReply<"status"> = jsonReply(200, { ok: true, acount: account });
    // @ts-expect-error "waiting" is not a status of the contract
    const unnamed: RouteReply<"status"> = jsonReply(200, { ok: false, status: "waiting" });
    // @ts-expect-error a logged-out answer is definitive only for NO_SESSION and NOT_AUTHENTICATED
    const wrongCode: RouteReply<"status"> = jsonReply(401, { ok: false, status: "logged_out", code: "RATE_LIMITED" });
    expect([fine.status, misspelt.status, unnamed.status, wrongCode.status]).toEqual([200, 200, 200, 401]);
  });

  it("refuses a /logout body that says anything", () => {
    const fine: RouteReply<"logout"> = jsonReply(200, {});
    // @ts-expect-error logout answers {}
    const chatty: RouteReply<"logout"> = jsonReply(200, { ok: true });
    expect([fine.body, chatty.body]).toEqual(["{}", '{"ok":true}']);
  });

  it("keeps one route's answer out of another route", () => {
    expectTypeOf<RouteReply<"status">>().not.toExtend<RouteReply<"session">>();
    expectTypeOf<RouteReply<"loginStart">>().not.toExtend<RouteReply<"logout">>();
    expectTypeOf<RouteReply<"runStream">>().not.toExtend<RouteReply<"status">>();
    // The shared error replies fit every route.
    expectTypeOf(rotatedReply).returns.toExtend<RouteReply<"session"> & RouteReply<"loginStart"> & RouteReply<"status"> & RouteReply<"logout">>();
    expectTypeOf(noSessionReply).returns.toExtend<RouteReply<"runStream">>();
    expectTypeOf(rateLimited).returns.resolves.toExtend<RouteReply<"session"> | null>();
    expectTypeOf(ndjsonReply).returns.toExtend<RouteReply<"runStream">>();
  });

  it("refuses a reply nobody declared a type for", () => {
    // @ts-expect-error without a declared answer, jsonReply accepts no body at all
    const untyped = jsonReply(200, { ok: true });
    expect(untyped.status).toBe(200);
  });
});

describe("errors have one list of codes and one set of details", () => {
  it("refuses an error with a misspelt code or detail", () => {
    // @ts-expect-error RATE_LIMITED misspelt
    const misspeltCode = errorReply("RATE_LIMITD", "Slow down.");
    // @ts-expect-error retryAfter misspelt
    const misspeltDetail = errorReply("RATE_LIMITED", "Slow down.", { details: { retryAftr: 1 } });
    // At run time too: a code outside the list leaves as 500 INTERNAL, an unknown detail not at all.
    expect([misspeltCode.status, misspeltCode.body]).toEqual([500, '{"code":"INTERNAL","error":"Slow down."}']);
    expect([misspeltDetail.status, misspeltDetail.body]).toEqual([429, '{"code":"RATE_LIMITED","error":"Slow down."}']);
  });

  it("shares ErrorDetails between the JSON body, the stream event and CodexError", () => {
    expectTypeOf<CodexErrorDetails>().toEqualTypeOf<ErrorDetails>();
    expectTypeOf<Omit<ErrorBody, "ok" | "code" | "error">>().toEqualTypeOf<ErrorDetails>();
    expectTypeOf<Omit<ErrorEvent, "type" | "code" | "error">>().toEqualTypeOf<ErrorDetails>();
    expectTypeOf<ServerErrorCode>().toEqualTypeOf<(typeof SERVER_ERROR_CODES)[number]>();
  });

  it("gives every server code an error status", () => {
    for (const code of SERVER_ERROR_CODES) {
      expect([code, defaultStatus(code) >= 400 && defaultStatus(code) <= 599]).toEqual([code, true]);
    }
  });

  it("documents every server code in CONTRACT.md with its default status, and nothing else", () => {
    const documented = new Map<string, number>();
    const table = readFileSync(new URL("../../CONTRACT.md", import.meta.url), "utf8").split("| HTTP | code | when |")[1] ?? "";
    for (const row of table.split("\n").filter((line) => /^\| \d{3} \|/.test(line))) {
      const [, status, codes] = row.split("|");
      for (const [, code] of (codes ?? "").matchAll(/`([A-Z_]+)`/g)) documented.set(code as string, Number(status));
    }
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(SERVER_ERROR_CODES.map((code) => [code, defaultStatus(code)])));
  });

  it("lets only the server's own codes through the wire filter", () => {
    for (const code of SERVER_ERROR_CODES) expect([code, isServerErrorCode(code)]).toEqual([code, true]);
    for (const code of [...CLIENT_ERROR_CODES, "constructor", "__proto__", "toString", "rate_limited", "", 429, null, undefined, ["INTERNAL"]]) {
      expect([code, isServerErrorCode(code)]).toEqual([code, false]);
    }
    // A plain-JS caller's foreign code gets a real status, never Object.prototype's members.
    expect(defaultStatus("constructor" as ServerErrorCode)).toBe(500);
  });
});

describe("each run stream line is a RunEvent", () => {
  it("refuses an event with a misspelt field", () => {
    const fine = encodeRunEvent({ type: "error", code: "USAGE_LIMIT", error: "Limit reached.", resetsAt: 1 });
    // @ts-expect-error resetsAt misspelt
    const misspeltDetail = encodeRunEvent({ type: "error", code: "USAGE_LIMIT", error: "Limit reached.", resetAt: 1 });
    // @ts-expect-error "apend" is not a mode
    const misspeltMode = encodeRunEvent({ type: "assistant-text", mode: "apend", text: "Hi" });
    // @ts-expect-error result.text misspelt
    const misspeltResult = encodeRunEvent({ type: "done", result: { txt: "Hi" } });
    expect(new TextDecoder().decode(fine)).toBe('{"type":"error","code":"USAGE_LIMIT","error":"Limit reached.","resetsAt":1}\n');
    expect([misspeltDetail, misspeltMode, misspeltResult].every((line) => line instanceof Uint8Array)).toBe(true);
    expectTypeOf(encodeRunEvent).parameter(0).toEqualTypeOf<RunEvent>();
  });
});
