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

/**
 * The default storage, or null where there is none (server-side rendering) or
 * where reading it throws (cookies blocked).
 * @example const storage = defaultStorage(); // localStorage in a browser
 */
export function defaultStorage(): MarkerStorage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

/**
 * Reads a fresh marker; an old, future-dated, corrupt or unreadable one counts
 * as none and is removed.
 * @example readMarker(localStorage, Date.now(), 7 * 24 * 60 * 60 * 1000)
 */
export function readMarker(storage: MarkerStorage | null, now: number, maxAgeMs: number): Marker | null {
  try {
    // Storage may hold anything: null storage, a missing key and bad JSON all throw or yield null here.
    const marker = JSON.parse(storage!.getItem(MARKER_KEY)!) as Marker | null;
    // A savedAt that is not numeric compares as NaN: false both times.
    if (marker?.loggedIn === true && now - marker.savedAt <= maxAgeMs && marker.savedAt <= now) return marker;
  } catch {
    // Unreadable: treated as no marker below.
  }
  writeMarker(storage, now);
  return null;
}

/**
 * Writes the marker (with the account only when one is given), or removes it
 * when `account` is undefined. Storage failures are ignored: the marker is a
 * hint, `/status` decides.
 * @example writeMarker(localStorage, Date.now(), null) // signed in, no account kept
 */
export function writeMarker(storage: MarkerStorage | null, savedAt: number, account?: Account | null): void {
  try {
    if (account === undefined) storage!.removeItem(MARKER_KEY);
    else storage!.setItem(MARKER_KEY, JSON.stringify({ loggedIn: true, savedAt, account: account ?? undefined }));
  } catch {
    // Full, blocked or absent storage: the client works without the marker.
  }
}
