import { defineConfig } from "vitest/config";
import { sourceAliases } from "./scripts/package-entries.js";

export default defineConfig({
  resolve: {
    // Tests import the package by its public entry names, as a user would; package.json says where each lives.
    alias: sourceAliases(new URL("./", import.meta.url)),
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
