import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const demoDir = fileURLToPath(new URL(".", import.meta.url));
const rootDir = join(demoDir, "..");
/** Default output of the page build; `npm start` serves it. */
export const DEFAULT_DIST_DIR = join(demoDir, "dist");
const STAMP = ".source-hash";

/** Files whose content shapes the page bundle: the demo's own and the package sources. */
async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "dist" || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      out.push(...(await listSources(path)));
    } else if (/\.(tsx?|html|css|json)$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

/** A hash of every source of the page, so a stale build is noticed and rebuilt. */
export async function sourceHash(): Promise<string> {
  const files = [...(await listSources(demoDir)), ...(await listSources(join(rootDir, "src")))].sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(relative(rootDir, file)).update("\0").update(await readFile(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

async function isCurrent(outDir: string, hash: string): Promise<boolean> {
  try {
    return (await readFile(join(outDir, STAMP), "utf8")) === hash && (await stat(join(outDir, "index.html"))).isFile();
  } catch {
    return false;
  }
}

/**
 * Build the page with Vite into `outDir` unless an up-to-date build is already there.
 * Builds into a temporary folder and renames it into place, so concurrent callers
 * (parallel test files) never see a half-written build.
 *
 * @example
 * const dist = await ensureDemoBuilt(); // demo/dist
 */
export async function ensureDemoBuilt(outDir: string = DEFAULT_DIST_DIR): Promise<{ outDir: string; built: boolean }> {
  const hash = await sourceHash();
  if (await isCurrent(outDir, hash)) return { outDir, built: false };
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  const { build } = await import("vite");
  // Under vitest NODE_ENV is "test": React's plugin and the bundle would take their development builds.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      configFile: join(demoDir, "vite.config.ts"),
      logLevel: "warn",
      mode: "production",
      build: { outDir: tmp, emptyOutDir: true },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  await writeFile(join(tmp, STAMP), hash);
  if (await isCurrent(outDir, hash)) {
    await rm(tmp, { recursive: true, force: true }); // another process finished first
    return { outDir, built: false };
  }
  const old = `${outDir}.old-${process.pid}-${Date.now()}`;
  if (existsSync(outDir)) await rename(outDir, old).catch(() => undefined);
  await rename(tmp, outDir).catch(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  await rm(old, { recursive: true, force: true });
  return { outDir, built: true };
}

/** Where tests keep the page build: one folder per source hash, shared by parallel test files. */
export async function ensureDemoBuiltForTests(): Promise<string> {
  const cache = join(rootDir, "node_modules", ".cache", "codex-auth-demo");
  const { outDir } = await ensureDemoBuilt(join(cache, await sourceHash()));
  await pruneOldBuilds(cache, outDir);
  return outDir;
}

// Builds of older sources pile up while developing; an hour's grace spares a test still serving one.
async function pruneOldBuilds(cache: string, keep: string): Promise<void> {
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const name of await readdir(cache).catch(() => [] as string[])) {
    const path = join(cache, name);
    if (path === keep) continue;
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}
