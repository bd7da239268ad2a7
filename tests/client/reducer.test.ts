import { describe, expect, it } from "vitest";
import { INITIAL_STATE, reduceCodexState, type CodexAction } from "../../src/client/reducer.js";
import type { CodexState, CodexStatus } from "../../src/client/types.js";

const account = { email: "user@example.com" };
const error = { code: "NETWORK" as const, message: "NETWORK" };
const code: CodexAction = {
  status: "waitingForLogin",
  userCode: "ABCD-EFGH",
  loginUrl: "https://auth.openai.com/codex/device",
  expiresAt: 1_000,
  popupBlocked: true,
};
const at = (status: CodexStatus, extra: Partial<CodexState> = {}): CodexState => ({ ...INITIAL_STATE, status, ...extra });
const ALL: CodexStatus[] = ["idle", "resuming", "connecting", "waitingForLogin", "authenticated", "error", "loggedOut"];

describe("reduceCodexState", () => {
  it("starts idle with nothing known", () => {
    expect(INITIAL_STATE).toEqual({
      status: "idle",
      account: null,
      userCode: null,
      loginUrl: null,
      expiresAt: null,
      popupBlocked: false,
      error: null,
    });
  });

  it("resumes with the persisted account when there is one", () => {
    expect(reduceCodexState(INITIAL_STATE, { status: "resuming", account })).toEqual(at("resuming", { account }));
    expect(reduceCodexState(INITIAL_STATE, { status: "resuming", account: null })).toEqual(at("resuming"));
  });

  it.each(ALL)("connects from %s and forgets the previous error, code and account", (from) => {
    const s = at(from, { error, account, userCode: "OLD-CODE" });
    expect(reduceCodexState(s, { status: "connecting" })).toEqual(at("connecting"));
  });

  it("takes a device code only while connecting", () => {
    expect(reduceCodexState(at("connecting"), code)).toEqual(at("waitingForLogin", {
      userCode: "ABCD-EFGH",
      loginUrl: "https://auth.openai.com/codex/device",
      expiresAt: 1_000,
      popupBlocked: true,
    }));
    for (const from of ALL.filter((s) => s != "connecting")) {
      const s = at(from);
      expect(reduceCodexState(s, code), from).toBe(s);
    }
  });

  it.each(ALL)("signs in from %s, dropping the code and any error", (from) => {
    const s = at(from, { userCode: "ABCD-EFGH", error });
    expect(reduceCodexState(s, { status: "authenticated", account })).toEqual(at("authenticated", { account }));
  });

  it.each(ALL)("fails from %s into error, holding only the error", (from) => {
    const s = at(from, { account, userCode: "ABCD-EFGH" });
    expect(reduceCodexState(s, { status: "error", error })).toEqual(at("error", { error }));
  });

  it.each(ALL)("signs out from %s and forgets the account", (from) => {
    expect(reduceCodexState(at(from, { account }), { status: "loggedOut" })).toEqual(at("loggedOut"));
  });

  it.each(ALL.filter((s) => s != "authenticated"))("cancels from %s back to idle", (from) => {
    expect(reduceCodexState(at(from, { userCode: "ABCD-EFGH", error }), { status: "idle" })).toEqual(INITIAL_STATE);
  });

  it("does not let a cancel sign out a session that is already in", () => {
    const s = at("authenticated", { account });
    expect(reduceCodexState(s, { status: "idle" })).toBe(s);
  });

  it("never mutates the state it is given", () => {
    const s = Object.freeze(at("connecting"));
    expect(() => reduceCodexState(s, code)).not.toThrow();
    expect(s.status).toBe("connecting");
  });
});
