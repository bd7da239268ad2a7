import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import the package by its public entry names, as a user would.
    alias: [
      { find: /^codex-auth$/, replacement: src("index.ts") },
      { find: /^codex-auth\/client$/, replacement: src("client/index.ts") },
      { find: /^codex-auth\/backend$/, replacement: src("backend/index.ts") },
      { find: /^codex-auth\/backend\/redis$/, replacement: src("backend/redis.ts") },
      { find: /^codex-auth\/backend\/direct$/, replacement: src("backend/direct.ts") },
      { find: /^codex-auth\/backend\/cli$/, replacement: src("backend/cli.ts") },
      { find: /^codex-auth\/backend\/(next|fastify|hono|worker)$/, replacement: src("backend/$1.ts") },
      { find: /^codex-auth\/simulator$/, replacement: src("simulator/index.ts") },
    ],
  },
  test: {
    include: ["tests/**/*.test.{ts,tsx}"],
    reporters: ["default", "./tests/helpers/summary-reporter.ts"],
    // Real servers (Redis, the codex CLI, Chromium) make some suites slow; two cores here.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files that need a DOM opt in with `// @vitest-environment happy-dom`.
    environment: "node",
    pool: "forks",
    maxWorkers: 2,
  },
});
