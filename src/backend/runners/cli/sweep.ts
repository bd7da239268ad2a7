/**
 * Sweeping abandoned session folders. A session that expires without a logout
 * leaves its CODEX_HOME (and its tokens) behind; its folder's mtime records its
 * last use (touched by the runner), and the sweep removes folders unused for
 * longer than maxSessionAgeMs, a bounded batch at a time.
 */
import { lstatSync, rmSync, utimesSync } from "node:fs";
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { safeLogger, type CodexLogger } from "../../core/audit.js";
import { CodexError } from "../../core/errors.js";
import { HOME_NAME } from "./home.js";
import type { ResolvedCliOptions } from "./options.js";

/** What the sweep needs of a runner's options (the CLI runner's and the app-server runner's both have it). */
export type SweepOptions = Pick<ResolvedCliOptions, "homeRoot" | "now" | "logger" | "sweepIntervalMs" | "sweepBatchSize" | "maxSessionAgeMs">;

/** A folder used more recently than this is not touched again: one utimes a minute per session at most. */
const TOUCH_EVERY_MS = 60_000;

/** Record a use of the session folder `name` (its mtime := now). Never follows a symlink; a missing folder is fine. */
export function touchHome(opts: Pick<SweepOptions, "homeRoot" | "now">, name: string): void {
  if (!HOME_NAME.test(name)) return;
  const path = join(opts.homeRoot, name);
  const now = opts.now();
  try {
    const stat = lstatSync(path);
    // A future mtime (a clock set back) is reset too, or the folder would look fresh for too long.
    if (!stat.isDirectory() || Math.abs(now - stat.mtimeMs) < TOUCH_EVERY_MS) return;
    utimesSync(path, now / 1000, now / 1000);
  } catch {
    // Not there (yet, or any more): nothing to record.
  }
}

const errorCode = (error: unknown): string =>
  error instanceof CodexError ? error.code : typeof (error as { code?: unknown })?.code === "string" ? String((error as { code: string }).code) : "UNKNOWN";

/** The sweep of one runner: one pass at a time, resuming where the last batch stopped. */
export class HomeSweeper {
  #cursor = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #busy = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #log: Required<CodexLogger>;
  readonly #opts: SweepOptions;
  readonly #inUse: (name: string) => boolean;

  /** `inUse(name)` is true while a child process of this runner works in that folder. */
  constructor(opts: SweepOptions, inUse: (name: string) => boolean) {
    this.#opts = opts;
    this.#inUse = inUse;
    this.#log = safeLogger(opts.logger);
  }

  /** One sweep now (in the background) and then every sweepIntervalMs on an unref'd timer. */
  start(): void {
    const background = () => {
      // A tick while a pass still runs is skipped: passes never pile up.
      if (this.#busy) return;
      this.sweep().catch((error: unknown) => this.#log.warn("cliRunner: session folder sweep failed", { code: errorCode(error) }));
    };
    background();
    if (this.#opts.sweepIntervalMs > 0) {
      this.#timer = setInterval(background, this.#opts.sweepIntervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Runs a pass after any pass in flight; resolves with the number of folders removed. */
  sweep(): Promise<number> {
    const next = this.#chain.then(
      () => this.#pass(),
      () => this.#pass(),
    );
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #pass(): Promise<number> {
    this.#busy = true;
    try {
      return await this.#batch();
    } finally {
      this.#busy = false;
    }
  }

  async #batch(): Promise<number> {
    const root = this.#opts.homeRoot;
    if (!(await this.#rootIsPrivate(root))) return 0;
    let position = 0;
    let inspected = 0;
    let removed = 0;
    let failed: unknown;
    let ended = true;
    for await (const entry of await opendir(root, { bufferSize: 128 })) {
      // Names before the cursor were looked at by earlier passes: read, not stat'ed.
      if (position++ < this.#cursor) continue;
      if (inspected >= this.#opts.sweepBatchSize) {
        ended = false;
        break;
      }
      inspected++;
      if (!HOME_NAME.test(entry.name)) continue;
      const path = join(root, entry.name);
      try {
        const stat = await lstat(path);
        if (!stat.isDirectory() || !this.#abandoned(stat.mtimeMs)) continue;
        if (this.#removeIfAbandoned(path, entry.name)) removed++;
      } catch (error) {
        failed ??= error;
      }
    }
    // Removed entries no longer take a place in the directory's order.
    this.#cursor = ended ? 0 : this.#cursor + inspected - removed;
    if (failed !== undefined) this.#log.warn("cliRunner: a session folder could not be swept", { code: errorCode(failed) });
    return removed;
  }

  /** Checked again and removed in one synchronous step, so no request can start using the folder in between. */
  #removeIfAbandoned(path: string, name: string): boolean {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isDirectory() || !this.#abandoned(stat.mtimeMs) || this.#inUse(name)) return false;
    rmSync(path, { recursive: true, force: true });
    return true;
  }

  #abandoned(mtimeMs: number): boolean {
    return this.#opts.now() - mtimeMs > this.#opts.maxSessionAgeMs;
  }

  /** Sweep only a real folder of ours: a root that is a symlink or another user's is refused, a missing one is empty. */
  async #rootIsPrivate(root: string): Promise<boolean> {
    let stat;
    try {
      stat = await lstat(root);
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return false;
      throw error;
    }
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
      throw new CodexError("INTERNAL", "The CLI runner's home root is not a private folder.");
    }
    return true;
  }
}
