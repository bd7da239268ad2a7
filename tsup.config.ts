import { defineConfig } from "tsup";
import { packageEntries } from "./scripts/package-entries.js";

export default defineConfig({
  entry: Object.fromEntries(packageEntries(new URL("./", import.meta.url)).map((entry) => [entry.outName, entry.source])),
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  external: ["react", "react-dom", "express", "redis", "@openai/codex", "fastify", "ai", "@ai-sdk/openai"],
});
