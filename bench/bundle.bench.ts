/**
 * Browser bundle sizes: `codex-auth` (React external) and `codex-auth/client`,
 * bundled by esbuild (ESM, minified, browser platform) and gzipped at level 9.
 * Budgets: 5,000 and 2,700 bytes min+gzip. They leave room for source written
 * for readers (full names, `===`, answers narrowed field by field), since the
 * minifier renames locals; bytes are won by doing less.
 */
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

export const BUDGETS = { "codex-auth": 5000, "codex-auth/client": 2700 } as const;
export type EntryName = keyof typeof BUDGETS;

const ENTRIES: Record<EntryName, string> = {
  "codex-auth": "src/index.ts",
  "codex-auth/client": "src/client/index.ts",
};

export interface BundleFigures {
  entry: EntryName;
  code: string;
  minBytes: number;
  gzipBytes: number;
  budget: number;
  /** Source files that went into the bundle, relative to the repository root. */
  inputs: string[];
  /** Imports left outside the bundle (React, and anything marked external). */
  externals: string[];
}

/** Bundles one public browser entry the way an app's bundler would, and measures it. */
export async function measureBundle(entry: EntryName): Promise<BundleFigures> {
  const out = await build({
    entryPoints: [ENTRIES[entry]],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    // React is the app's; a `node:` import would stay visible here rather than fail the build.
    external: ["react", "react/*", "react-dom", "node:*"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = out.outputFiles[0]!.text;
  const meta: Metafile = out.metafile;
  const output = Object.values(meta.outputs)[0]!;
  return {
    entry,
    code,
    minBytes: Buffer.byteLength(code),
    gzipBytes: gzipSync(code, { level: 9 }).length,
    budget: BUDGETS[entry],
    inputs: Object.keys(meta.inputs),
    externals: output.imports.filter((i) => i.external).map((i) => i.path),
  };
}

export default async function run(): Promise<void> {
  for (const entry of Object.keys(ENTRIES) as EntryName[]) {
    const f = await measureBundle(entry);
    const verdict = f.gzipBytes <= f.budget ? "within" : "OVER";
    console.log(
      `${entry.padEnd(18)} ${String(f.minBytes).padStart(6)} B min  ${String(f.gzipBytes).padStart(5)} B min+gzip  ` +
        `(budget ${f.budget}, ${verdict}; esbuild ESM minify, gzip -9, React external)`,
    );
  }
}
