/** A session as a store keeps it. Stores treat `data` as opaque text. */
export interface StoredSession {
  /** The sealed session payload (AES-256-GCM ciphertext, base64url); never plaintext. */
  data: string;
  /** Epoch ms of the session's first creation; the absolute timeout counts from here, across rotations. */
  createdAt: number;
  /**
   * Whether the session is signed in, the one fact a store may know about the
   * sealed data: a session that never signed in gets the short pending idle
   * timeout and is evicted first. Absent on `create`: not signed in; absent on
   * `save`: unchanged. `get` does not return it (the sealed data is the truth).
   */
  authenticated?: boolean;
}

export type SessionLookup =
  | { state: "active"; session: StoredSession }
  /** The id was rotated away moments ago (within the grace period): grants nothing, but is not a logout. */
  | { state: "rotated" }
  /** Unknown, expired, deleted, or rotated longer ago than the grace period. */
  | { state: "missing" };

/** The condition of a save. */
export interface SaveOptions {
  /**
   * The sealed data the writer read (or last wrote); the save happens only if
   * the store still holds exactly this text, so a stale writer can never
   * overwrite a newer session. The sealed text is the session's version: every
   * seal has a fresh random IV, so no two writes store the same text.
   */
  expected?: string;
}

/**
 * Where sessions live. Async so that Redis (or any shared store) fits.
 * Every implementation keys on SHA-256 of the id, never the id itself, and
 * enforces the timeouts: idle (since the last `get`/`save`; shorter while not
 * signed in) and absolute (since `createdAt`). All implementations pass tests/session-store-conformance.ts.
 */
export interface SessionStore {
  /** Stores a new session under `id`. */
  create(id: string, session: StoredSession): Promise<void>;
  /** Looks a session up and refreshes its idle timeout. */
  get(id: string): Promise<SessionLookup>;
  /**
   * Replaces the data of an existing, active session; does nothing if it is
   * missing or rotated (never resurrects). With `options.expected`, a
   * compare-and-set: it writes only if the store still holds exactly that
   * sealed text. True when it wrote.
   */
  save(id: string, session: StoredSession, options?: SaveOptions): Promise<boolean>;
  /**
   * Atomically moves an active session from `oldId` to `newId`. Exactly one of
   * any number of concurrent callers gets `true`; the rest get `false`. The old
   * id then answers `get` with `{ state: "rotated" }` for `graceMs`, and can
   * never again read or write the session.
   */
  rotate(oldId: string, newId: string, graceMs: number): Promise<boolean>;
  /** Removes a session (and any rotation marker of it). */
  delete(id: string): Promise<void>;
}

export interface SessionTimeouts {
  /** Idle timeout of a signed-in session. Default 24 hours. */
  idleTimeoutMs?: number;
  /**
   * Idle timeout of a session that never signed in (anyone can mint one with
   * POST /session), so a flood of them drains away within minutes. Keep it above
   * the client's status poll interval. Capped at `idleTimeoutMs`. Default 15 minutes.
   */
  pendingIdleTimeoutMs?: number;
  /** Default 7 days. */
  absoluteTimeoutMs?: number;
}
