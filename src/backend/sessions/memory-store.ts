import { storageKey } from "./key.js";
import type { SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./types.js";

/** Options of the in-memory store. */
export interface MemorySessionStoreOptions extends SessionTimeouts {
  /** Clock in epoch ms; inject one in tests. Default `Date.now`. */
  now?: () => number;
  /** Entries checked for expiry on each write (create/save/rotate/delete). Default 2. */
  sweepPerCall?: number;
  /** How often a background slice runs, in ms; `0` turns it off. Default 5 s (the timer is unref'd). */
  sweepIntervalMs?: number;
  /** Entries checked per background slice (about a millisecond's work). Default 1,000. */
  sweepSliceSize?: number;
}

/** The memory store, with a few extras for operators and tests. */
export interface MemorySessionStore extends SessionStore {
  /** Entries held, including expired ones not yet swept and rotation markers. */
  readonly size: number;
  /** Checks up to `limit` entries (default: all) and removes expired ones; returns how many it removed. */
  sweep(limit?: number): number;
  /** Stops the background sweep. The store still works; expiry stays lazy. */
  close(): void;
  /** The raw contents as an operator (or an attacker with a heap dump) would see them, as JSON; for audits and tests. */
  dump(): string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

// One small object per session, no closures or timers: keeps an idle session well under 256 bytes of heap.
class Entry {
  constructor(
    /** Sealed data; `null` marks an id rotated away (a marker, not a session). */
    public data: string | null,
    public createdAt: number,
    /** Last get/save; for a marker, the instant its grace period ends. */
    public seenAt: number,
    /** Storage key of the marker this session's previous id left behind, so `delete` can drop it too. */
    public link: string | null,
  ) {}
}

/**
 * The default session store: a process-local Map keyed on SHA-256 of the id.
 * A process restart forgets every session; use a shared store (Redis) when you
 * run more than one process. Expired sessions are dropped lazily when touched,
 * plus a bounded incremental sweep (a few entries per write and an unref'd
 * background slice), so no request ever pays for a full scan.
 *
 * @example
 * const sessionStore = createMemorySessionStore({ idleTimeoutMs: 60 * 60 * 1000 });
 * const handler = createCodexHandler({ runner, cookieSecret, sessionStore });
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): MemorySessionStore {
  const core = new MemoryCore(options);
  const intervalMs = options.sweepIntervalMs ?? 5_000;
  const sliceSize = options.sweepSliceSize ?? 1_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (intervalMs > 0) {
    // The timer holds the store only weakly: a dropped store is collected and its timer stops itself.
    const ref = new WeakRef(core);
    timer = setInterval(() => {
      const live = ref.deref();
      if (live === undefined) clearInterval(timer);
      else live.sweep(sliceSize);
    }, intervalMs);
    timer.unref?.();
  }
  return {
    get size() {
      return core.map.size;
    },
    create: async (id, session) => core.create(id, session),
    get: async (id) => core.get(id),
    save: async (id, session) => core.save(id, session),
    rotate: async (oldId, newId, graceMs) => core.rotate(oldId, newId, graceMs),
    delete: async (id) => core.delete(id),
    sweep: (limit) => core.sweep(limit ?? Number.POSITIVE_INFINITY),
    close: () => clearInterval(timer),
    dump: () => core.dump(),
  };
}

class MemoryCore {
  readonly map = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #perCall: number;
  #cursor: IterableIterator<[string, Entry]> | null = null;

  constructor(options: MemorySessionStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#idleMs = options.idleTimeoutMs ?? DAY_MS;
    this.#absoluteMs = options.absoluteTimeoutMs ?? 7 * DAY_MS;
    this.#perCall = options.sweepPerCall ?? 2;
  }

  create(id: string, session: StoredSession): void {
    this.sweep(this.#perCall);
    this.map.set(storageKey(id), new Entry(session.data, session.createdAt, this.#now(), null));
  }

  get(id: string): SessionLookup {
    const key = storageKey(id);
    const entry = this.map.get(key);
    if (entry === undefined) return MISSING;
    const now = this.#now();
    if (this.#isExpired(entry, now)) {
      this.map.delete(key);
      return MISSING;
    }
    if (entry.data === null) return ROTATED;
    entry.seenAt = now;
    return { state: "active", session: { data: entry.data, createdAt: entry.createdAt } };
  }

  save(id: string, session: StoredSession): void {
    this.sweep(this.#perCall);
    const key = storageKey(id);
    const entry = this.map.get(key);
    if (entry === undefined || entry.data === null) return; // never resurrects, never writes through a rotated id
    const now = this.#now();
    if (this.#isExpired(entry, now)) {
      this.map.delete(key);
      return;
    }
    // createdAt stays the store's own: a caller cannot extend the absolute timeout.
    entry.data = session.data;
    entry.seenAt = now;
  }

  rotate(oldId: string, newId: string, graceMs: number): boolean {
    this.sweep(this.#perCall);
    const oldKey = storageKey(oldId);
    const newKey = storageKey(newId);
    const entry = this.map.get(oldKey);
    if (entry === undefined || entry.data === null || oldKey === newKey || this.map.has(newKey)) return false;
    const now = this.#now();
    if (this.#isExpired(entry, now)) {
      this.map.delete(oldKey);
      return false;
    }
    // All synchronous: no await between the check and the move, so exactly one concurrent caller wins.
    const keepMarker = graceMs > 0;
    this.map.set(newKey, new Entry(entry.data, entry.createdAt, now, keepMarker ? oldKey : null));
    if (keepMarker) {
      entry.data = null;
      entry.seenAt = now + graceMs;
      entry.link = null;
    } else {
      this.map.delete(oldKey);
    }
    return true;
  }

  delete(id: string): void {
    this.sweep(this.#perCall);
    const key = storageKey(id);
    const entry = this.map.get(key);
    if (entry === undefined) return;
    this.map.delete(key);
    if (entry.link !== null && this.map.get(entry.link)?.data === null) this.map.delete(entry.link);
  }

  /** Advances a cursor that survives between calls, so a full pass is spread over many small steps. */
  sweep(limit: number): number {
    const now = this.#now();
    let removed = 0;
    for (let checked = 0; checked < limit; checked++) {
      this.#cursor ??= this.map.entries();
      const step = this.#cursor.next();
      if (step.done === true) {
        this.#cursor = null;
        break; // one lap at most per call
      }
      const [key, entry] = step.value;
      if (this.#isExpired(entry, now)) {
        this.map.delete(key);
        removed++;
      }
    }
    return removed;
  }

  dump(): string {
    const rows = [...this.map].map(([key, e]) => ({
      key: Buffer.from(key, "base64url").toString("hex"),
      data: e.data,
      createdAt: e.createdAt,
      seenAt: e.seenAt,
      link: e.link === null ? null : Buffer.from(e.link, "base64url").toString("hex"),
    }));
    return JSON.stringify(rows);
  }

  #isExpired(entry: Entry, now: number): boolean {
    if (entry.data === null) return now >= entry.seenAt;
    return now - entry.seenAt >= this.#idleMs || now - entry.createdAt >= this.#absoluteMs;
  }
}

const MISSING: SessionLookup = Object.freeze({ state: "missing" });
const ROTATED: SessionLookup = Object.freeze({ state: "rotated" });
