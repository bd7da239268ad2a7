import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "client/index": "src/client/index.ts",
    "backend/index": "src/backend/index.ts",
    "backend/redis": "src/backend/redis.ts",
    "backend/direct": "src/backend/direct.ts",
    "backend/cli": "src/backend/cli.ts",
    "backend/next": "src/backend/next.ts",
    "backend/fastify": "src/backend/fastify.ts",
    "backend/hono": "src/backend/hono.ts",
    "backend/worker": "src/backend/worker.ts",
    "simulator/index": "src/simulator/index.ts",
    "simulator/bin": "src/simulator/bin.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  external: ["react", "react-dom", "express", "redis", "@openai/codex", "fastify"],
});
