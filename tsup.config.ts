import { defineConfig, type Options } from "tsup";
import { packageEntries } from "./scripts/package-entries.js";

type TsupPlugin = NonNullable<Options["plugins"]>[number];

// The React entry: its built files must open with "use client" so that a Next.js App Router page can import
// <CodexAuth> from a Server Component file. esbuild drops module-level directives when it bundles, so the
// directive is added to the output here instead of living in the source.
const CLIENT_ENTRY = "src/index.ts";

const useClientDirective: TsupPlugin = {
  name: "use-client-directive",
  renderChunk(code, chunk) {
    if (chunk.entryPoint?.replace(/\\/g, "/") !== CLIENT_ENTRY) return undefined;
    // One line added above the code: the source map moves down one generated line (";" in `mappings`).
    if (chunk.map !== undefined && chunk.map !== null) {
      const map = typeof chunk.map === "string" ? (JSON.parse(chunk.map) as { mappings: string }) : chunk.map;
      chunk.map = { ...map, mappings: `;${map.mappings}` } as typeof chunk.map;
    }
    return { code: `"use client";\n${code}` };
  },
};

export default defineConfig({
  entry: Object.fromEntries(packageEntries(new URL("./", import.meta.url)).map((entry) => [entry.outName, entry.source])),
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  external: ["react", "react-dom", "express", "redis", "@openai/codex", "fastify"],
  plugins: [useClientDirective],
});
