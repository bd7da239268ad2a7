import { defineConfig } from "vitest/config";
import { sourceAliases } from "./scripts/package-entries.js";

// Suites that need a real Redis, the codex binary, a package build, or many real sockets per adapter.
const INTEGRATION = [
  "tests/backend/adapters/**/*.test.ts",
  "tests/backend/sessions/redis-*.test.ts",
  "tests/backend/handler/redis.test.ts",
  "tests/backend/coordination/redis-*.test.ts",
  "tests/backend/fleet/**/*.test.ts",
  "tests/backend/runners/cli/**/*.test.ts",
  "tests/backend/runners/app-server/**/*.test.ts",
  "tests/simulator/codex-cli.test.ts",
  "tests/simulator/app-server.test.ts",
  "tests/simulator/bin.test.ts",
  "tests/package.test.ts",
];
// Real Chromium driving the demo page.
const E2E = ["tests/e2e/**/*.test.ts"];

// CODEX_AI_SDK_DIR=<a node_modules folder holding another AI SDK line (ai 7, @ai-sdk/openai 4)>: the AI SDK
// tests run against it instead of the repository's ai 6 (.ci/run does this on Node 22 and 24).
const otherAiSdk = process.env.CODEX_AI_SDK_DIR;
const aiSdkAliases =
  otherAiSdk === undefined
    ? []
    : ["ai", "@ai-sdk/openai"].map((name) => ({ find: new RegExp(`^${name.replace(/[/.]/g, "\\$&")}$`), replacement: `${otherAiSdk}/${name}/dist/index.js` }));

export default defineConfig({
  resolve: {
    // Tests import the package by its public entry names, as a user would; package.json says where each lives.
    alias: [...sourceAliases(new URL("./", import.meta.url)), ...aiSdkAliases],
  },
  test: {
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    // Real servers (Redis, the codex CLI, Chromium) make some suites slow; two cores here.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files that need a DOM opt in with `// @vitest-environment happy-dom`.
    environment: "node",
    pool: "forks",
    maxWorkers: 2,
    // `npm test` runs all three; `npm run test:unit` is the fast loop (no Chromium, Redis, codex binary or build).
    projects: [
      { extends: true, test: { name: "unit", include: ["tests/**/*.test.{ts,tsx}"], exclude: [...INTEGRATION, ...E2E] } },
      { extends: true, test: { name: "integration", include: INTEGRATION } },
      { extends: true, test: { name: "e2e", include: E2E } },
    ],
  },
});
