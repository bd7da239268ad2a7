/**
 * A new user's app, built from the README's own code fences and the packed
 * tarball, as the end-to-end tests of the Quick start and the Next.js section
 * run it.
 *
 * Where the app lives: under test-results/ in this repository, so that Node
 * and the bundlers find the frameworks (express, vite, next, react…) in the
 * repository's node_modules by walking up, exactly as `npm ci` installed them;
 * nothing is downloaded. The package itself is the tarball, unpacked into the
 * app's own node_modules/codex-auth as `npm install ./codex-auth-x.tgz` would.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));

/** A file of the README: the path its first line names, and the code. */
export interface Snippet {
  path: string;
  code: string;
}

// A fence whose first line names a file: `// server.ts`, `<!-- index.html -->`.
const FENCE = /```(?:ts|tsx|html)\n(?:\/\/ |<!-- )([\w./[\]-]+\.(?:ts|tsx|html))(?: -->)?\n([\s\S]*?)```/g;

/**
 * The README's code fences that name a file, keyed by that path, from the
 * section under `heading` up to the next heading of the same or a higher level.
 *
 * @example
 * const files = await readmeSnippets("## Quick start");
 * files.get("server.ts");
 */
export async function readmeSnippets(heading: string): Promise<Map<string, string>> {
  const readme = await readFile(join(ROOT_DIR, "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}`);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const level = /^#+/.exec(heading)![0];
  const rest = readme.slice(start + heading.length + 1);
  const next = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  const section = next < 0 ? rest : rest.slice(0, next);
  const files = new Map<string, string>();
  for (const match of section.matchAll(FENCE)) files.set(match[1]!, match[2]!);
  return files;
}

/** The shell block of a README section (the commands a user types). */
export async function readmeCommands(heading: string): Promise<string> {
  const readme = await readFile(join(ROOT_DIR, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`\n${heading}`));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]).join("\n");
}

/** A scratch app on disk. */
export interface ScratchApp {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Writes `files` into a new folder, with a package.json of `type: module` and
 * the tarball unpacked as node_modules/codex-auth.
 */
export async function createScratchApp(name: string, tarball: string, files: ReadonlyMap<string, string>): Promise<ScratchApp> {
  await mkdir(join(ROOT_DIR, "test-results"), { recursive: true });
  const dir = await mkdtemp(join(ROOT_DIR, "test-results", `scratch-${name}-`));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: `scratch-${name}`, private: true, type: "module" }, null, 2));
  for (const [path, code] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), code);
  }
  const modules = join(dir, "node_modules");
  await mkdir(modules, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", modules]);
  await rename(join(modules, "package"), join(modules, "codex-auth"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A child process of a test, in a process group of its own so that stopping it stops what it started. */
export interface Child {
  process: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the output once it matches `pattern`; rejects if the process exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM to its group, SIGKILL if it is not gone within 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script> …args` in `cwd`.
 *
 * @example
 * const server = startNode(join(ROOT_DIR, "node_modules/tsx/dist/cli.mjs"), ["server.ts"], { cwd: app.dir, env });
 */
// eslint-disable-next-line no-control-regex -- the escape character is the point
const ANSI_CODES = /\u001b\[[0-9;]*m/g;

export function startNode(script: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let raw = "";
  // Without colour codes: tools colour their output when CI is set (picocolors reads it), and tests match text.
  // Stripped from the whole output, so a code split across two chunks goes too.
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString("utf8");
    out = raw.replace(ANSI_CODES, "");
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        const check = () => {
          const match = pattern.exec(out);
          if (match !== null) {
            done();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then((code) => {
          if (!listeners.has(check)) return;
          done();
          reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
        });
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, name);
        } catch {
          // Already gone.
        }
      };
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs `node <script> …args` to the end; rejects with its output if it fails. */
export async function runNode(script: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  const child = startNode(script, args, options);
  const timer = setTimeout(() => void child.stop(), options.timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}:\n${child.output()}`);
  return child.output();
}

/** Waits until `url` answers at all (any status), retrying a refused connection every 100 ms. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(5_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The bins a user runs with npx, as scripts of the repository's node_modules (npx would look them up online). */
export const BIN = {
  tsx: join(ROOT_DIR, "node_modules/tsx/dist/cli.mjs"),
  vite: join(ROOT_DIR, "node_modules/vite/bin/vite.js"),
  next: join(ROOT_DIR, "node_modules/next/dist/bin/next"),
};

/**
 * The tarball's `codex-auth-simulator` bin, started the way the README says
 * (`npx codex-auth-simulator --port N`), with a one-second poll interval so
 * sign-ins are quick and 60 ms between deltas so an answer visibly streams. Resolves once it printed its URL and the lines for it.
 */
export async function startSimulatorBin(app: ScratchApp, port: number, env: NodeJS.ProcessEnv): Promise<{ child: Child; url: string }> {
  const bin = join(app.dir, "node_modules/codex-auth/dist/simulator/bin.js");
  const child = startNode(bin, ["--port", String(port), "--interval", "1", "--slow-stream", "60"], { cwd: app.dir, env });
  const [, url] = await child.waitFor(/^(http:\/\/127\.0\.0\.1:\d+)\n[\s\S]*Ctrl\+C/, 30_000);
  return { child, url: url! };
}

