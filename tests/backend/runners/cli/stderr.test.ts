/** The CLI runner's stderr sanitiser: what a failing codex CLI prints never leaves with a secret or a path. */
import { homedir } from "node:os";
import { describe, expect, it } from "vitest";
import { sanitizeCliText } from "../../../../src/backend/cli.js";
import { MAX_CLI_MESSAGE, stderrSummary } from "../../../../src/backend/runners/cli/stderr.js";

const JWT =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6ImFkYUBleGFtcGxlLmNvbSIsInN1YiI6InVzZXItMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
const SESSION_HOME = "/data/codex-homes/s-0123456789abcdef0123456789abcdef";

describe("sanitizeCliText", () => {
  it("removes JWTs, bearer credentials and sk- keys", () => {
    const out = sanitizeCliText(
      [
        `2026-11-29T07:40:52Z ERROR codex_login: refresh failed for ${JWT}`,
        "request header: Authorization: Bearer abcdefghijklmnop.qrstuvwx.yz0123456789",
        "using key sk-proj-AbCdEfGh1234567890XyZ",
        `{"refresh_token":"rt_0123456789abcdefghij","access_token":"${JWT}"}`,
      ].join("\n"),
    );
    expect(out).not.toContain("eyJ");
    expect(out).not.toContain("abcdefghijklmnop");
    expect(out).not.toContain("sk-proj");
    expect(out).not.toContain("rt_0123456789");
    expect(out).toContain("ERROR codex_login: refresh failed for");
    expect(out).toContain("[redacted]");
  });

  it("removes the session's CODEX_HOME even where no generic path rule applies", () => {
    const out = sanitizeCliText(
      `WARNING: could not write ${SESSION_HOME}/auth.json (codex_home: AbsolutePathBuf("${SESSION_HOME}"))`,
      { paths: [SESSION_HOME], home: "/nonexistent-home" },
    );
    expect(out).not.toContain("/data");
    expect(out).not.toContain("s-0123456789abcdef");
    expect(out).toContain("[path]");
  });

  it("removes the server's home directory, given or detected", () => {
    expect(sanitizeCliText("config at /data/users/ann/.codex/config.toml", { home: "/data/users/ann" })).toBe("config at [path]");
    const home = homedir();
    expect(sanitizeCliText(`reading ${home}/.codex/config.toml failed`)).not.toContain(home);
  });

  it("strips ANSI colours and control characters and drops blank lines", () => {
    const out = sanitizeCliText("\u001b[31mError logging in\u001b[0m:\u0007 denied\n\n\r\n  \n");
    expect(out).toBe("Error logging in: denied");
  });

  it("caps the length", () => {
    const out = sanitizeCliText("word ".repeat(1_000));
    expect(out.length).toBeLessThanOrEqual(MAX_CLI_MESSAGE);
    expect(out.endsWith("…")).toBe(true);
    expect(sanitizeCliText("x".repeat(50), {}, 20)).toHaveLength(20);
  });
});

describe("stderrSummary", () => {
  it("keeps the last useful lines, without the CLI's PATH-alias warning, sanitised", () => {
    const stderr = [
      'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/x"))',
      ...Array.from({ length: 10 }, (_, i) => `line ${i}`),
      `Error logging in: token ${JWT} rejected at ${SESSION_HOME}`,
    ].join("\n");
    const out = stderrSummary(stderr, { paths: [SESSION_HOME] });
    expect(out).not.toContain("PATH aliases");
    expect(out).not.toContain("line 4");
    expect(out).toContain("line 9");
    expect(out).toMatch(/Error logging in: token \[redacted[^\]]*\] rejected at \[path\]$/);
    expect(out).not.toContain("eyJ");
  });
});
