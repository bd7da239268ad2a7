import type { Account } from "../contract.js";
import type { MarkerStorage } from "./types.js";

/** What the browser remembers between visits: no token, no PII unless opted in. */
export interface Marker {
  loggedIn: true;
  savedAt: number;
  account?: Account;
}

/** Storage key of the marker (one per origin). */
export const MARKER_KEY = "codex-auth";

/** The default storage, or null where there is none (SSR) or it throws (blocked cookies). */
export function defaultStorage(): MarkerStorage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

/**
 * Reads a fresh marker; an old, future-dated, corrupt or unreadable one counts as none and is removed.
 * @example readMarker(localStorage, Date.now(), 7 * 864e5)
 */
export function readMarker(st: MarkerStorage | null, now: number, maxAge: number): Marker | null {
  try {
    const m = JSON.parse(st!.getItem(MARKER_KEY)!) as Marker | null;
    // A non-numeric savedAt makes both comparisons false.
    if (m?.loggedIn && now - m.savedAt <= maxAge && m.savedAt <= now) return m;
  } catch {}
  writeMarker(st, now);
  return null;
}

/**
 * Writes the marker (the account only when given), or removes it when `account`
 * is undefined. Storage failures are ignored: the marker is a hint, `/status` decides.
 */
export function writeMarker(st: MarkerStorage | null, savedAt: number, account?: Account | null): void {
  try {
    account === undefined
      ? st!.removeItem(MARKER_KEY)
      : st!.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt, account: account ?? undefined }));
  } catch {}
}
