/**
 * Writes the codex app-server protocol's TypeScript types for the pinned
 * @openai/codex into src/backend/runners/app-server/protocol (checked in).
 * Run after changing the pinned version: `npm run generate:app-server-types`.
 * tests/backend/runners/app-server/protocol.test.ts fails when the checked-in
 * files no longer match what the installed binary generates.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PROTOCOL_DIR = resolve(fileURLToPath(new URL("../src/backend/runners/app-server/protocol", import.meta.url)));
const CODEX_BIN = resolve(fileURLToPath(new URL("../node_modules/.bin/codex", import.meta.url)));

/** Generate into `out` (replaced), with a private empty CODEX_HOME so no user config changes the output. */
export function generateAppServerTypes(out: string): void {
  const home = mkdtempSync(join(tmpdir(), "codex-generate-ts-"));
  try {
    rmSync(out, { recursive: true, force: true });
    execFileSync(CODEX_BIN, ["app-server", "generate-ts", "--out", out], {
      env: { PATH: process.env["PATH"] ?? "", HOME: home, CODEX_HOME: home, NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 60_000,
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generateAppServerTypes(PROTOCOL_DIR);
  console.log(`app-server protocol types written to ${PROTOCOL_DIR}`);
}
