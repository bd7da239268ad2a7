import { describe, expect, it } from "vitest";
import { redact } from "../../../src/backend/core/redact.js";

describe("redact(): what leaves the backend carries no credential or host path", () => {
  it.each([
    ["a JWT", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ rejected", "eyJ"],
    ["a bearer header", "Authorization: Bearer abc.def-ghi_jkl", "abc.def"],
    ["a basic header", "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"],
    ["access_token=…", "url?access_token=s3cr3t-value&x=1", "s3cr3t-value"],
    ['"refresh_token": "…"', '{"refresh_token": "rt-opaque-123"}', "rt-opaque-123"],
    ["an API key", "using sk-proj-ABCDEFGHijklmnop1234", "ABCDEFGHijklmnop1234"],
    ["a refresh token shape", "rt_1234567890abcdefXYZ", "1234567890abcdefXYZ"],
    ["a POSIX home path", "ENOENT: open '/home/ann/.codex/auth.json'", "/home/ann"],
    ["a macOS path", "at /Users/ann/project/x.ts:1:2", "/Users/ann"],
    ["a tilde path", "read ~/.codex/auth.json", ".codex/auth.json"],
    ["a Windows path", "C:\\Users\\ann\\.codex\\auth.json missing", "Users\\ann"],
    ["a long opaque value", "session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 bad", "9f86d081884c7d659a2f"],
  ])("removes %s", (_label, input, secret) => {
    const out = redact(input);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/\[(redacted|redacted-jwt|redacted-key|path)\]/);
  });

  it("keeps ordinary error text readable", () => {
    const text = "Usage limit reached for your plan; try again in 3 hours (model gpt-5-codex).";
    expect(redact(text)).toBe(text);
  });

  it("never throws on odd input", () => {
    expect(redact("")).toBe("");
    expect(() => redact("\u0000".repeat(10_000))).not.toThrow();
    expect(redact(String(undefined))).toBe("undefined");
  });
});
