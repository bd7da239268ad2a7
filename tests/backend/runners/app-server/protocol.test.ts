/**
 * The checked-in app-server protocol types are what the installed (pinned) codex
 * binary generates: a new pin with another schema fails here until
 * `npm run generate:app-server-types` is run and the runner checked against it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateAppServerTypes, PROTOCOL_DIR } from "../../../../scripts/generate-app-server-types.js";

function filesUnder(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(root, path), readFileSync(path, "utf8"));
    }
  };
  walk(root);
  return files;
}

const scratch = mkdtempSync(join(tmpdir(), "app-server-protocol-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("app-server protocol types", { timeout: 60_000 }, () => {
  it("match what the pinned codex binary generates, file for file", () => {
    const fresh = join(scratch, "protocol");
    generateAppServerTypes(fresh);
    const generated = filesUnder(fresh);
    const checkedIn = filesUnder(PROTOCOL_DIR);
    expect(generated.size).toBeGreaterThan(500);
    expect([...checkedIn.keys()].sort()).toEqual([...generated.keys()].sort());
    const differing = [...generated].filter(([name, text]) => checkedIn.get(name) !== text).map(([name]) => name);
    expect(differing).toEqual([]);
  });

  it("include the requests and notifications the runner relies on", () => {
    const requests = readFileSync(join(PROTOCOL_DIR, "ClientRequest.ts"), "utf8");
    for (const method of ["initialize", "account/read", "account/login/start", "account/login/cancel", "account/logout", "account/rateLimits/read", "thread/start", "turn/start", "turn/interrupt"]) {
      expect(requests).toContain(`"method": "${method}"`);
    }
    const notes = readFileSync(join(PROTOCOL_DIR, "ServerNotification.ts"), "utf8");
    for (const method of ["account/login/completed", "item/agentMessage/delta", "turn/completed", "thread/tokenUsage/updated", "account/rateLimits/updated", "error"]) {
      expect(notes).toContain(`"method": "${method}"`);
    }
  });
});
