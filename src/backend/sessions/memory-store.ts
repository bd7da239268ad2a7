import { ClockMap, type ClockEntry } from "./clock-map.js";
import { createMemoryCoordination } from "./coordination.js";
import { storageKey } from "./key.js";
import { withInternals } from "./store-internals.js";
import type { SaveOptions, SessionLookup, SessionStore, SessionTimeouts, StoredSession } from "./types.js";

/** Options of the in-memory store. */
export interface MemorySessionStoreOptions extends SessionTimeouts {
  /**
   * Entries held at most (sessions and the short-lived markers rotation leaves).
   * When full, a new one first evicts sessions that never signed in, least
   * recently used first, then rotation markers, and only then the least recently
   * used signed-in session. Default 10,000: measured 31 MiB of heap when every
   * one holds a sealed token set (3 KB), 1.9 MiB when none signed in (see DEPLOYMENT.md).
   */
  maxSessions?: number;
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
const MINUTE_MS = 60 * 1000;

// One small object per session, no closures or timers: keeps an idle session well under 256 bytes of heap.
class Entry implements ClockEntry {
  /** Read or written since the eviction hand last passed it. */
  used = false;

  constructor(
    /** Sealed data; `null` marks an id rotated away (a marker, not a session). */
    public data: string | null,
    public createdAt: number,
    /** Last get/save; for a marker, the instant its grace period ends. */
    public seenAt: number,
    /** Storage key of the marker this session's previous id left behind, so `delete` can drop it too. */
    public link: string | null,
    /** Signed in: the full idle timeout, and evicted only after every other entry. */
    public signedIn: boolean,
  ) {}
}

/**
 * The default session store: a process-local Map keyed on SHA-256 of the id.
 * A process restart forgets every session; use a shared store (Redis) when you
 * run more than one process. It holds at most `maxSessions` entries: a flood of
 * fresh sessions evicts other never-signed-in ones, not signed-in users. Expired sessions are dropped lazily when touched,
 * plus a bounded incremental sweep (a few entries per write and an unref'd
 * background slice), so no request ever pays for a full scan.
 *
 * @example
 * const sessionStore = createMemorySessionStore({ maxSessions: 50_000, idleTimeoutMs: 60 * 60 * 1000 });
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
  const store: MemorySessionStore = {
    get size() {
      return core.size;
    },
    create: async (id, session) => core.create(id, session),
    get: async (id) => core.get(id),
    save: async (id, session, saveOptions) => core.save(id, session, saveOptions),
    rotate: async (oldId, newId, graceMs) => core.rotate(oldId, newId, graceMs),
    delete: async (id) => core.delete(id),
    sweep: (limit) => core.sweep(limit ?? Number.POSITIVE_INFINITY),
    close: () => clearInterval(timer),
    dump: () => core.dump(),
  };
  // Handlers sharing this store (one process) share its run leases, refresh locks and poll slots.
  return withInternals(store, { coordination: createMemoryCoordination() });
}

class MemoryCore {
  // One map per eviction tier; a key lives in exactly one. A full store evicts from the first tier
  // that has an entry, each tier in least-recently-used order (approximately: see ClockMap).
  readonly #pending = new ClockMap<Entry>();
  readonly #markers = new ClockMap<Entry>();
  readonly #signedIn = new ClockMap<Entry>();
  readonly #tiers = [this.#pending, this.#markers, this.#signedIn] as const;
  readonly #now: () => number;
  readonly #idleMs: number;
  readonly #pendingIdleMs: number;
  readonly #absoluteMs: number;
  readonly #maxSessions: number;
  readonly #perCall: number;
  #cursor: Iterator<[string, Entry]> | null = null;

  constructor(options: MemorySessionStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#idleMs = options.idleTimeoutMs ?? DAY_MS;
    this.#pendingIdleMs = Math.min(options.pendingIdleTimeoutMs ?? 15 * MINUTE_MS, this.#idleMs);
    this.#absoluteMs = options.absoluteTimeoutMs ?? 7 * DAY_MS;
    this.#maxSessions = options.maxSessions ?? 10_000;
    if (!(Number.isInteger(this.#maxSessions) || this.#maxSessions === Number.POSITIVE_INFINITY) || this.#maxSessions < 1) {
      throw new TypeError("createMemorySessionStore: `maxSessions` must be a whole number ≥ 1");
    }
    this.#perCall = options.sweepPerCall ?? 2;
  }

  get size(): number {
    return this.#pending.map.size + this.#markers.map.size + this.#signedIn.map.size;
  }

  create(id: string, session: StoredSession): void {
    this.sweep(this.#perCall);
    const key = storageKey(id);
    const existing = this.#find(key);
    if (existing !== undefined) this.#tierOf(existing).delete(key);
    this.#makeRoom(1);
    this.#place(key, new Entry(session.data, session.createdAt, this.#now(), null, session.authenticated === true));
  }

  get(id: string): SessionLookup {
    const key = storageKey(id);
    const entry = this.#find(key);
    if (entry === undefined) return MISSING;
    const now = this.#now();
    if (this.#isExpired(entry, now)) {
      this.#tierOf(entry).delete(key);
      return MISSING;
    }
    if (entry.data === null) return ROTATED;
    entry.seenAt = now;
    entry.used = true;
    return { state: "active", session: { data: entry.data, createdAt: entry.createdAt } };
  }

  save(id: string, session: StoredSession, options: SaveOptions | undefined): boolean {
    this.sweep(this.#perCall);
    const key = storageKey(id);
    const entry = this.#find(key);
    if (entry === undefined || entry.data === null) return false; // never resurrects, never writes through a rotated id
    const now = this.#now();
    if (this.#isExpired(entry, now)) {
      this.#tierOf(entry).delete(key);
      return false;
    }
    // Compare-and-set: a writer holding an older version loses.
    if (options?.expected !== undefined && options.expected !== entry.data) return false;
    // createdAt stays the store's own: a caller cannot extend the absolute timeout.
    entry.data = session.data;
    entry.seenAt = now;
    entry.used = true;
    if (session.authenticated !== undefined && session.authenticated !== entry.signedIn) {
      this.#tierOf(entry).delete(key);
      entry.signedIn = session.authenticated;
      this.#place(key, entry);
    }
    return true;
  }

  rotate(oldId: string, newId: string, graceMs: number): boolean {
    this.sweep(this.#perCall);
    const oldKey = storageKey(oldId);
    const newKey = storageKey(newId);
    const entry = this.#find(oldKey);
    if (entry === undefined || entry.data === null || oldKey === newKey || this.#find(newKey) !== undefined) return false;
    const now = this.#now();
    // All synchronous: no await between the check and the move, so exactly one concurrent caller wins.
    this.#tierOf(entry).delete(oldKey);
    if (this.#isExpired(entry, now)) return false;
    const keepMarker = graceMs > 0 && this.#maxSessions > 1;
    // Room for the moved session and its marker, made while neither is in a tier, so neither can be evicted.
    this.#makeRoom(keepMarker ? 2 : 1);
    const moved = new Entry(entry.data, entry.createdAt, now, keepMarker ? oldKey : null, entry.signedIn);
    if (keepMarker) {
      entry.data = null;
      entry.seenAt = now + graceMs;
      entry.link = null;
      this.#place(oldKey, entry);
    }
    this.#place(newKey, moved);
    return true;
  }

  delete(id: string): void {
    this.sweep(this.#perCall);
    const key = storageKey(id);
    const entry = this.#find(key);
    if (entry === undefined) return;
    this.#tierOf(entry).delete(key);
    if (entry.link !== null) this.#markers.map.delete(entry.link);
  }

  /** Advances a cursor that survives between calls, so a full pass is spread over many small steps. */
  sweep(limit: number): number {
    const now = this.#now();
    let removed = 0;
    for (let checked = 0; checked < limit; checked++) {
      this.#cursor ??= this.#everyEntry();
      const step = this.#cursor.next();
      if (step.done === true) {
        this.#cursor = null;
        break; // one lap at most per call
      }
      const [key, entry] = step.value;
      if (this.#isExpired(entry, now)) {
        this.#tierOf(entry).delete(key);
        removed++;
      }
    }
    return removed;
  }

  dump(): string {
    const rows = this.#tiers.flatMap((tier) =>
      [...tier.map].map(([key, e]) => ({
        key: Buffer.from(key, "base64url").toString("hex"),
        data: e.data,
        createdAt: e.createdAt,
        seenAt: e.seenAt,
        link: e.link === null ? null : Buffer.from(e.link, "base64url").toString("hex"),
        authenticated: e.signedIn,
      })),
    );
    return JSON.stringify(rows);
  }

  *#everyEntry(): Generator<[string, Entry]> {
    for (const tier of this.#tiers) yield* tier.map;
  }

  #find(key: string): Entry | undefined {
    return this.#pending.map.get(key) ?? this.#signedIn.map.get(key) ?? this.#markers.map.get(key);
  }

  #tierOf(entry: Entry): Map<string, Entry> {
    if (entry.data === null) return this.#markers.map;
    return entry.signedIn ? this.#signedIn.map : this.#pending.map;
  }

  /** Files an entry that is in no tier under the tier its state calls for. */
  #place(key: string, entry: Entry): void {
    this.#tierOf(entry).set(key, entry);
  }

  /** Evicts until `needed` more entries fit under the ceiling: never-signed-in sessions, then markers, then signed-in ones. */
  #makeRoom(needed: number): void {
    while (this.size > 0 && this.size + needed > this.#maxSessions) {
      if (!this.#tiers.some((tier) => tier.evictOne())) return;
    }
  }

  #isExpired(entry: Entry, now: number): boolean {
    if (entry.data === null) return now >= entry.seenAt;
    const idleMs = entry.signedIn ? this.#idleMs : this.#pendingIdleMs;
    return now - entry.seenAt >= idleMs || now - entry.createdAt >= this.#absoluteMs;
  }
}

const MISSING: SessionLookup = Object.freeze({ state: "missing" });
const ROTATED: SessionLookup = Object.freeze({ state: "rotated" });
