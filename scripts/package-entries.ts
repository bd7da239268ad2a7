/**
 * The package's entries as `package.json` declares them, so the build, the
 * test aliases and the type checker agree with what is published: a new entry
 * is one edit to `exports` (with its `codex-auth-source` file).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface PackageEntry {
  /** What a user imports: `codex-auth`, `codex-auth/backend/redis`… */
  specifier: string;
  /** The source file, relative to the repository root: `src/backend/redis.ts`. */
  source: string;
  /** The build's output name, relative to dist/ without extension: `backend/redis`. */
  outName: string;
}

type ExportTarget = { "codex-auth-source"?: string; import?: { default?: string } };

export function packageEntries(root: URL): PackageEntry[] {
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
    name: string;
    exports: Record<string, ExportTarget | string>;
    bin?: Record<string, string>;
  };
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === "string") continue; // ./package.json
    const source = target["codex-auth-source"];
    const built = target.import?.default;
    if (source === undefined || built === undefined) throw new Error(`package.json exports["${subpath}"] needs codex-auth-source and import.default`);
    entries.push({
      specifier: subpath === "." ? pkg.name : `${pkg.name}${subpath.slice(1)}`,
      source: source.replace(/^\.\//, ""),
      outName: built.replace(/^\.\/dist\//, "").replace(/\.js$/, ""),
    });
  }
  // Executables ship from dist/ too; their sources sit beside the built name under src/.
  for (const built of Object.values(pkg.bin ?? {})) {
    const outName = built.replace(/^\.\/dist\//, "").replace(/\.js$/, "");
    entries.push({ specifier: "", source: `src/${outName}.ts`, outName });
  }
  return entries;
}

/**
 * Bundler aliases from each public name to its source, for tools that take
 * aliases rather than package.json conditions (vitest, the demo's Vite build).
 */
export function sourceAliases(root: URL): Array<{ find: RegExp; replacement: string }> {
  return packageEntries(root)
    .filter((entry) => entry.specifier !== "")
    .map((entry) => ({
      find: new RegExp(`^${entry.specifier.replace(/[/.]/g, "\\$&")}$`),
      replacement: fileURLToPath(new URL(entry.source, root)),
    }));
}
