import { clearedCookie, createCookieSigner, sessionCookie, type CookieAttributes, type CookieSigner } from "../http/cookies.js";
import { asRecord } from "../core/json.js";
import type { ResolvedOptions } from "../core/options.js";
import type { RunnerContext, SessionData } from "../runners/types.js";
import { mergePayload, type Payload } from "./merge.js";
import { handleFromId, newSessionId } from "./session-id.js";

/** How often a write that lost a compare-and-set is merged and tried again before it gives up. */
const MAX_WRITE_ATTEMPTS = 4;

/** A session as one request sees it. `data` is the runner's, mutable. */
export interface ActiveSession {
  readonly id: string;
  /** Stable across rotation; the runner's ctx.id and the run-lock key. */
  readonly handle: string;
  authenticated: boolean;
  data: SessionData;
  readonly createdAt: number;
  /** The payload text last persisted (or read), to skip writes that change nothing. */
  snapshot: string;
  /** What the store holds for it now (sealed), so its opened copy can be dropped once it is replaced. */
  sealed: string;
  /** The handle is pinned in the payload (always after the first rotation). */
  pinned: boolean;
}

export type SessionLookupResult = { kind: "none" } | { kind: "rotated" } | { kind: "active"; session: ActiveSession };

/**
 * Ties cookies, the store and sealing together: reads the session a request
 * names, creates, persists, rotates and deletes sessions. Every malformed or
 * unverifiable input becomes "no session"; nothing here throws for bad input.
 * Writes are compare-and-set on what the request read, so several instances
 * on one store never overwrite a newer session with a stale one.
 */
export class SessionManager {
  readonly #opts: ResolvedOptions;
  readonly #signer: CookieSigner;
  readonly #attrs: CookieAttributes;

  constructor(opts: ResolvedOptions) {
    this.#opts = opts;
    this.#signer = createCookieSigner(opts.secrets, opts.cookieName);
    this.#attrs = { secure: opts.secure, maxAgeSec: opts.maxAgeSec };
  }

  /** The session named by the request's cookie. */
  async lookup(request: Request): Promise<SessionLookupResult> {
    const id = this.#signer.verify(request.headers.get("cookie"));
    if (id === null) return { kind: "none" };
    const found = await this.#opts.store.get(id);
    if (found.state === "rotated") return { kind: "rotated" };
    if (found.state !== "active") return { kind: "none" };
    const text = this.#opts.sealer.openTextSync(found.session.data);
    if (text === null) return { kind: "none" }; // sealed under a key we no longer hold, or corrupt
    const { h, a, d } = JSON.parse(text) as Payload; // an object: the sealer opens nothing else
    const data: SessionData = asRecord(d) ?? {};
    const session: ActiveSession = {
      id,
      handle: typeof h === "string" && h !== "" ? h : handleFromId(id),
      authenticated: a === 1,
      data,
      createdAt: found.session.createdAt,
      snapshot: text,
      sealed: found.session.data,
      pinned: typeof h === "string" && h !== "",
    };
    return { kind: "active", session };
  }

  /** Creates a fresh, unauthenticated session; returns it with its Set-Cookie. */
  async create(): Promise<{ session: ActiveSession; setCookie: string }> {
    const id = newSessionId();
    const createdAt = this.#opts.now();
    await this.#opts.store.create(id, { data: "", createdAt, authenticated: false });
    const session: ActiveSession = { id, handle: handleFromId(id), authenticated: false, data: {}, createdAt, snapshot: EMPTY, sealed: "", pinned: false };
    return { session, setCookie: this.setCookieFor(id) };
  }

  /** Takes back whatever the runner left in ctx.data and persists it. */
  async persistContext(session: ActiveSession, ctx: RunnerContext): Promise<void> {
    session.data = ctx.data;
    await this.persist(session);
  }

  /**
   * Writes the session back if the runner (or the auth flag) changed anything.
   * Compare-and-set: if another request or instance wrote first, its version is
   * read back, this write's changes are merged over it (see merge.ts) and the
   * write is tried again. False when it gave up: the session is gone (logout,
   * expiry, rotated away); a deleted session is never resurrected.
   */
  async persist(session: ActiveSession, force = false): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      session.data = asRecord(session.data) ?? {};
      const text = payloadText(session);
      if (!force && text === session.snapshot) return true;
      const sealed = this.#opts.sealer.sealTextSync(text);
      // The flag lets the store give a session that never signed in a short life and evict it first.
      const record = { data: sealed, createdAt: session.createdAt, authenticated: session.authenticated };
      // `!== false`: a store written for the older interface answers undefined, and did write.
      if ((await this.#opts.store.save(session.id, record, { expected: session.sealed })) !== false) {
        this.#opts.sealer.forget(session.sealed); // the old version's opened copy is not kept past its replacement
        session.snapshot = text;
        session.sealed = sealed;
        // Once anything is stored the handle is in it, so it outlives the id it was derived from.
        if (text !== EMPTY) session.pinned = true;
        return true;
      }
      this.#opts.sealer.forget(sealed);
      if (!(await this.reload(session))) return false;
    }
    return false;
  }

  /**
   * Reads the session again and merges this request's unsaved changes over
   * what the store holds now, so the request sees what other requests and
   * instances wrote meanwhile. False when the session is gone (or its id was
   * rotated away: the new id belongs to another request).
   */
  async reload(session: ActiveSession): Promise<boolean> {
    const found = await this.#opts.store.get(session.id);
    if (found.state !== "active") return false;
    if (found.session.data === session.sealed) return true; // nobody wrote meanwhile
    const text = found.session.data === "" ? EMPTY : this.#opts.sealer.openTextSync(found.session.data);
    if (text === null) return false;
    const theirs = JSON.parse(text) as Payload;
    const merged = mergePayload(JSON.parse(session.snapshot) as Payload, payloadOf(session), theirs);
    session.data = asRecord(merged.d) ?? {};
    session.authenticated = merged.a === 1;
    this.#opts.sealer.forget(session.sealed);
    session.snapshot = text;
    session.sealed = found.session.data;
    if (typeof theirs.h === "string" && theirs.h !== "") session.pinned = true;
    return true;
  }

  /**
   * The runner context for a session: ctx.data is the session's data; ctx.save
   * persists it now and ctx.reload reads it again (both leave the merged data
   * in ctx.data); ctx.coordination is the store's, shared by every instance.
   */
  contextFor(session: ActiveSession): RunnerContext {
    const ctx: RunnerContext = {
      id: session.handle,
      data: session.data,
      coordination: this.#opts.coordination,
      save: async () => {
        session.data = ctx.data;
        await this.persist(session);
        ctx.data = session.data;
      },
      reload: async () => {
        session.data = ctx.data;
        const alive = await this.reload(session);
        ctx.data = session.data;
        return alive;
      },
    };
    return ctx;
  }

  /**
   * Moves a session to a new id and stores its current data there, with the
   * given auth flag (fixation defence: at login start and at sign-in). Exactly
   * one concurrent caller wins and gets the new Set-Cookie; the others get null.
   * The old id grants nothing from then on.
   */
  async rotate(session: ActiveSession, authenticated: boolean): Promise<string | null> {
    const newId = newSessionId();
    const won = await this.#opts.store.rotate(session.id, newId, this.#opts.rotationGraceMs);
    if (!won) return null;
    const next: ActiveSession = { ...session, id: newId, authenticated, pinned: true };
    await this.persist(next, true);
    return this.setCookieFor(newId);
  }

  /** Deletes the session from the store. */
  async delete(session: ActiveSession): Promise<void> {
    await this.#opts.store.delete(session.id);
    this.#opts.sealer.forget(session.sealed); // nor a deleted session's
  }

  /** Set-Cookie that clears the session cookie (Max-Age=0, same attributes). */
  clearCookie(): string {
    return clearedCookie(this.#opts.cookieName, this.#attrs);
  }

  setCookieFor(id: string): string {
    return sessionCookie(this.#opts.cookieName, this.#signer.sign(id), this.#attrs);
  }
}

const EMPTY = "{}";

/**
 * The JSON text a session is sealed as: its data, its auth flag, and its handle
 * as soon as anything is stored. Compared with the text last stored (the
 * snapshot), it tells whether a write is needed.
 */
function payloadText(session: ActiveSession): string {
  return JSON.stringify(payloadOf(session));
}

function payloadOf(session: ActiveSession): Payload {
  const payload: Payload = {};
  if (Object.keys(session.data).length > 0) payload.d = session.data;
  if (session.authenticated) payload.a = 1;
  if (session.pinned || payload.d !== undefined || payload.a !== undefined) payload.h = session.handle;
  return payload;
}
