import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCanonicalPath } from "../../../src/backend/http/canonical-path.js";

const parsedPath = (path: string) => new URL(`http://h${path}`).pathname;

describe("isCanonicalPath", () => {
  it("refuses every spelling of a dot segment, backslashes, tabs, fragments and non-path targets", () => {
    for (const path of [
      "/api/codex/x/../status",
      "/api/codex/%2e%2e/codex/login/start",
      "/api/codex/%2E%2e/codex/status",
      "/api/codex/.%2e/status",
      "/api/codex/./status",
      "/api/codex/%2e/status",
      "/api/codex/..",
      "/api/codex\\status",
      "/api/codex/sta\ttus",
      "/api/codex/status#x",
      "/api/codex/%2fstatus",
      "/api/codex/%5cstatus",
      "http://evil/api/codex/status",
      "*",
      "",
    ]) {
      expect(isCanonicalPath(path), JSON.stringify(path)).toBe(false);
    }
  });

  it("accepts the contract's own paths", () => {
    for (const path of ["/api/codex/status", "/api/codex/login/start", "/api/codex/run/stream", "/a-b_c/d", "/"]) {
      expect(isCanonicalPath(path)).toBe(true);
    }
  });

  it("accepts a path only when a URL parser leaves it exactly as it is", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~%\\\t#?;=@ -]{0,6}$/);
    const path = fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join("/")}`);
    fc.assert(
      fc.property(fc.oneof(path, fc.string()), (candidate) => {
        if (!isCanonicalPath(candidate)) return;
        expect(parsedPath(candidate)).toBe(candidate);
        expect(candidate.split("/")).not.toContain("..");
        expect(candidate.split("/")).not.toContain(".");
      }),
      { numRuns: 2000 },
    );
  });
});
