import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.{ts,tsx}"],
    // Real servers (Redis, the codex CLI, Chromium) make some suites slow; two cores here.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files that need a DOM opt in with `// @vitest-environment happy-dom`.
    environment: "node",
    pool: "forks",
    maxWorkers: 2,
  },
});
