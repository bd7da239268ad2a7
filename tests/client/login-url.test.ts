import { describe, expect, it } from "vitest";
import { isAllowedLoginUrl } from "../../src/client/login-url.js";

const SIM = "http://127.0.0.1:8787";

describe("login URL validation", () => {
  it.each([
    "https://auth.openai.com/codex/device",
    "https://auth.openai.com/",
    "https://AUTH.openai.com/codex/device?x=1#y",
    "https://auth.openai.com:443/codex/device",
  ])("allows %s", (url) => {
    expect(isAllowedLoginUrl(url)).toBe(true);
  });

  it.each([
    ["plain http", "http://auth.openai.com/codex/device"],
    ["javascript:", "javascript:alert(1)"],
    ["javascript: with tabs and case", "Java\tScript:alert(document.domain)"],
    ["data:", "data:text/html,<script>alert(1)</script>"],
    ["another host", "https://evil.test/codex/device"],
    ["a lookalike suffix", "https://auth.openai.com.evil.test/codex/device"],
    ["a lookalike prefix", "https://evilauth.openai.com/"],
    ["a subdomain", "https://x.auth.openai.com/"],
    ["userinfo before another host", "https://auth.openai.com@evil.test/"],
    ["userinfo on the right host", "https://user@auth.openai.com/"],
    ["user and password", "https://user:pass@auth.openai.com/"],
    ["a trailing-dot host", "https://auth.openai.com./"],
    ["a non-default port", "https://auth.openai.com:8443/"],
    ["a protocol-relative URL", "//auth.openai.com/codex/device"],
    ["a relative path", "/codex/device"],
    ["an empty string", ""],
    ["backslash host confusion", "https:\\\\evil.test\\auth.openai.com"],
    ["an unlisted loopback", "http://127.0.0.1:8787/codex/device"],
  ])("refuses %s", (_why, url) => {
    expect(isAllowedLoginUrl(url)).toBe(false);
  });

  it("refuses what is not a string", () => {
    expect(isAllowedLoginUrl(undefined as unknown as string)).toBe(false);
    expect(isAllowedLoginUrl(42 as unknown as string)).toBe(false);
  });

  it("allows an exact listed loopback origin for local development", () => {
    expect(isAllowedLoginUrl(`${SIM}/codex/device`, undefined, [SIM])).toBe(true);
    expect(isAllowedLoginUrl("http://localhost:5173/codex/device", undefined, ["http://localhost:5173"])).toBe(true);
  });

  it.each([
    ["another port", "http://127.0.0.1:9999/codex/device"],
    ["https instead of http", "https://127.0.0.1:8787/codex/device"],
    ["userinfo", "http://user@127.0.0.1:8787/codex/device"],
    ["javascript:", "javascript://127.0.0.1:8787/%0aalert(1)"],
  ])("keeps a listed loopback origin exact: refuses %s", (_why, url) => {
    expect(isAllowedLoginUrl(url, undefined, [SIM])).toBe(false);
  });

  it("ignores a non-loopback origin listed as a development origin", () => {
    expect(isAllowedLoginUrl("http://evil.test/codex/device", undefined, ["http://evil.test"])).toBe(false);
    expect(isAllowedLoginUrl("https://evil.test/codex/device", undefined, ["https://evil.test"])).toBe(false);
  });

  it("follows a custom host list exactly", () => {
    expect(isAllowedLoginUrl("https://login.example.com/x", ["login.example.com"])).toBe(true);
    expect(isAllowedLoginUrl("https://auth.openai.com/x", ["login.example.com"])).toBe(false);
  });
});
