/**
 * The package as `npm publish` would ship it: built into a staging folder of
 * its own (never the repository's dist/, which other suites build and clean
 * at the same time) and packed there with `npm pack`, so the tarball holds
 * exactly what package.json's `files` lets through.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT_DIR } from "./scratch-app.js";

const run = promisify(execFile);

/** What ships beside dist/ (package.json's `files`, plus what npm always adds). */
const SHIPPED = ["package.json", "README.md", "CONTRACT.md", "SECURITY.md", "DEPLOYMENT.md", "LICENSE"];

/**
 * Builds and packs the package; resolves with the .tgz path and a way to remove it.
 *
 * @example
 * const tarball = await packTarball(); // tarball.path: …/test-results/pack-XXXX/codex-auth-0.1.0.tgz
 */
export async function packTarball(): Promise<{ path: string; remove(): Promise<void> }> {
  await mkdir(join(ROOT_DIR, "test-results"), { recursive: true });
  const staging = await mkdtemp(join(ROOT_DIR, "test-results", "pack-"));
  // The repository's own tsup config (entries, "use client", externals), with only the output folder moved.
  await run(process.execPath, [join(ROOT_DIR, "node_modules/tsup/dist/cli-default.js"), "--out-dir", join(staging, "dist")], {
    cwd: ROOT_DIR,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of SHIPPED) await copyFile(join(ROOT_DIR, file), join(staging, file));
  // --ignore-scripts: prepack would build again, into the repository's dist/.
  await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", staging], { cwd: staging, maxBuffer: 16 * 1024 * 1024 });
  const tarball = (await readdir(staging)).find((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack made no tarball in ${staging}`);
  return { path: join(staging, tarball), remove: () => rm(staging, { recursive: true, force: true }) };
}
