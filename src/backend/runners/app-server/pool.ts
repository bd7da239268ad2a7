/**
 * The app-server processes of one runner: at most one per session folder and
 * at most `maxProcesses` in all. A process is held while it has a login or a
 * turn; one held by nobody for `idleShutdownMs` is stopped, and an idle one is
 * stopped early when a new session needs its slot. A process that fails to
 * start is tried once more before the caller gets an error.
 */
import { CodexError } from "../../core/errors.js";
import type { ResolvedAppServerOptions } from "./options.js";
import { startAppServer, type AppServer } from "./server-process.js";

interface Entry {
  /** Resolves once the process is initialised (rejects if it could not be). */
  ready: Promise<AppServer>;
  server: AppServer | undefined;
  holds: number;
  lastUsed: number;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** A hold on a session's process; `release` once, when the login or turn is over. */
export interface Lease {
  readonly server: AppServer;
  release(): void;
}

export class AppServerPool {
  readonly #opts: ResolvedAppServerOptions;
  readonly #entries = new Map<string, Entry>();
  /** Processes told to stop that have not exited yet: one may still write to its folder as it shuts down. */
  readonly #stopping = new Map<string, Promise<void>>();

  constructor(opts: ResolvedAppServerOptions) {
    this.#opts = opts;
  }

  /** Folders with a process (starting, running or still exiting): the sweep leaves those alone. */
  has(name: string): boolean {
    return this.#entries.has(name) || this.#stopping.has(name);
  }

  /** Folders with a process starting, running or still exiting. */
  get size(): number {
    let exiting = 0;
    for (const name of this.#stopping.keys()) if (!this.#entries.has(name)) exiting++;
    return this.#entries.size + exiting;
  }

  /** The folder's process, started (or restarted) if need be, held until `release`. */
  async acquire(name: string): Promise<Lease> {
    let entry = this.#entries.get(name);
    if (!entry) entry = this.#reserve(name);
    entry.holds++;
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    let server: AppServer;
    try {
      server = await entry.ready;
    } catch (error) {
      this.#release(name, entry);
      throw error;
    }
    let held = true;
    return {
      server,
      release: () => {
        if (!held) return;
        held = false;
        this.#release(name, entry);
      },
    };
  }

  /** Stop the folder's process now (logout, or a turn that would not stop). */
  async stop(name: string): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) return this.#stopping.get(name);
    this.#forget(name, entry);
    const stopped = entry.ready.then(
      (server) => server.proc.stop(this.#opts.timeouts.killGraceMs).then(() => undefined),
      () => undefined,
    );
    const exiting = Promise.all([this.#stopping.get(name), stopped]).then(() => {
      if (this.#stopping.get(name) === exiting) this.#stopping.delete(name);
    });
    this.#stopping.set(name, exiting);
    await exiting;
  }

  async stopAll(): Promise<void> {
    const names = new Set([...this.#entries.keys(), ...this.#stopping.keys()]);
    await Promise.all([...names].map((name) => this.stop(name)));
  }

  #reserve(name: string): Entry {
    // Make room first: the oldest idle process goes; when every process is busy, the caller waits for nobody.
    let evicted: Promise<void> = Promise.resolve();
    if (this.#entries.size >= this.#opts.maxProcesses) {
      const idle = [...this.#entries].filter(([, e]) => e.holds === 0 && e.server).sort(([, a], [, b]) => a.lastUsed - b.lastUsed)[0];
      if (!idle) {
        throw new CodexError("RATE_LIMITED", "Too many sessions are busy at once; try again shortly.", { details: { retryAfter: 5 } });
      }
      evicted = this.stop(idle[0]);
    }
    // Two processes never share a folder: a new one waits until the folder's last one has exited.
    const previous = this.#stopping.get(name);
    const entry: Entry = { ready: Promise.resolve(undefined as never), server: undefined, holds: 0, lastUsed: this.#opts.now(), idle: undefined };
    entry.ready = Promise.all([evicted, previous]).then(() => this.#start(name, entry));
    // A start that failed leaves no entry behind; the next call tries afresh.
    entry.ready.catch(() => this.#forget(name, entry));
    this.#entries.set(name, entry);
    return entry;
  }

  async #start(name: string, entry: Entry): Promise<AppServer> {
    let server: AppServer;
    try {
      server = await startAppServer(this.#opts, name);
    } catch {
      server = await startAppServer(this.#opts, name);
    }
    if (this.#entries.get(name) !== entry) {
      // Stopped (logout) while it was starting.
      await server.proc.stop(this.#opts.timeouts.killGraceMs);
      throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server was stopped.");
    }
    entry.server = server;
    // A crash or a kill from outside: the entry goes, the next use starts a new process from the folder.
    void server.proc.exited.then(() => this.#forget(name, entry));
    return server;
  }

  #release(name: string, entry: Entry): void {
    entry.holds = Math.max(0, entry.holds - 1);
    entry.lastUsed = this.#opts.now();
    if (entry.holds > 0 || this.#entries.get(name) !== entry) return;
    entry.idle = setTimeout(() => {
      if (entry.holds === 0) void this.stop(name);
    }, this.#opts.idleShutdownMs);
    entry.idle.unref();
  }

  #forget(name: string, entry: Entry): void {
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    if (this.#entries.get(name) === entry) this.#entries.delete(name);
  }
}
