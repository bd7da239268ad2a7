import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { FifoMap } from "../core/fifo-map.js";
import { asRecord } from "../core/json.js";
import type { SessionData } from "../runners/types.js";

/** Seals session data (which may hold OAuth tokens) before it reaches any store. */
export interface Sealer {
  /** Encrypts `data`; `{}` seals to `""` so idle sessions cost almost nothing. */
  seal(data: SessionData): Promise<string>;
  /** Decrypts; `null` for anything tampered, truncated, foreign or sealed under an unknown key. Never throws. */
  unseal(sealed: string): Promise<SessionData | null>;
}

/** A `Sealer` that also works on JSON text, synchronously: what the session manager uses per request. */
export interface SyncSealer extends Sealer {
  /** Seals a JSON object's text as it is (`"{}"` seals to `""`); for callers that already hold the text. */
  sealTextSync(plain: string): string;
  /** The opened JSON text of a sealed object (`""` opens to `"{}"`); `null` as for unseal. */
  openTextSync(sealed: string): string | null;
  /** Drops a sealed value's opened text from this process (the session moved on, or ended). */
  forget(sealed: string): void;
  /** Whether this process holds the opened text of `sealed` (for audits and tests). */
  holdsOpened(sealed: string): boolean;
}

/**
 * Either secrets (keys are derived with HKDF-SHA256) or raw 32-byte keys.
 * An array means rotation: the first seals, every one unseals.
 */
export type SealerOptions = (
  | { secret: string | readonly string[] }
  | { key: Uint8Array | readonly Uint8Array[] }
) & {
  /**
   * Sealed values whose opened text is kept in this process, so a session
   * that is read again (a polling page) is not decrypted again: opening costs
   * more than the rest of a request on Node. Default 512; 0 turns it off.
   * The store still holds only sealed data; this process holds the key anyway.
   */
  openedCacheSize?: number;
};

const PREFIX = "v1.";
// The version in the AAD binds the ciphertext to its format: a v1 blob cannot be replayed as another version.
const AAD = Buffer.from("codex-auth seal v1", "utf8");
const SALT = Buffer.from("codex-auth/session-seal/salt/v1", "utf8");
const INFO = Buffer.from("codex-auth/session-seal/aes-256-gcm/v1", "utf8");
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_SECRET_LENGTH = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Creates the AES-256-GCM sealer for session data at rest: a random 96-bit IV
 * per seal, output `v1.` + base64url(iv ‖ ciphertext ‖ tag).
 *
 * @example
 * const sealer = createSealer({ secret: [process.env.SESSION_SECRET!, previousSecret] });
 * const sealed = await sealer.seal({ accessToken: "…" }); // "v1.Qm9…"
 * await sealer.unseal(sealed); // { accessToken: "…" }
 */
export function createSealer(options: SealerOptions): SyncSealer {
  const keys = "secret" in options ? toList(options.secret).map(deriveKey) : toList(options.key).map(checkKey);
  if (keys.length === 0) throw new TypeError("createSealer: give at least one secret or key");
  const sealingKey = keys[0] as Buffer;
  // The last sealed values opened and their text, oldest dropped first; a fresh object is parsed per read.
  const opened = new FifoMap<string, string>(options.openedCacheSize ?? 512);

  const sealTextSync = (plain: string): string => {
    if (plain === "{}") return "";
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", sealingKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(AAD);
    const body = Buffer.concat([iv, cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    const sealed = PREFIX + body.toString("base64url");
    opened.set(sealed, plain); // the next read of what was just written needs no decryption
    return sealed;
  };

  const openTextSync = (sealed: string): string | null => {
    if (sealed === "") return "{}";
    if (typeof sealed !== "string" || !sealed.startsWith(PREFIX)) return null;
    // A hit means these exact bytes (authentication tag included) opened before: same plaintext.
    const known = opened.get(sealed);
    if (known !== undefined) return known;
    const text = sealed.slice(PREFIX.length);
    if (!BASE64URL.test(text)) return null;
    const body = Buffer.from(text, "base64url");
    if (body.length < IV_BYTES + TAG_BYTES + 1) return null;
    for (const key of keys) {
      const plain = open(key, body);
      if (plain === null) continue;
      if (parseData(plain) === null) return null; // authentic but not an object: not ours to hand out
      opened.set(sealed, plain);
      return plain;
    }
    return null;
  };

  return {
    sealTextSync,
    openTextSync,
    forget: (sealed) => opened.delete(sealed),
    holdsOpened: (sealed) => opened.get(sealed) !== undefined,
    seal: async (data) => sealTextSync(JSON.stringify(data)),
    unseal: async (sealed) => {
      const plain = openTextSync(sealed);
      return plain === null ? null : parseData(plain);
    },
  };
}

function open(key: Buffer, body: Buffer): string | null {
  try {
    const iv = body.subarray(0, IV_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
    return plain.toString("utf8");
  } catch {
    return null; // wrong key or tampered: GCM authentication failed
  }
}

function parseData(plain: string): SessionData | null {
  try {
    return asRecord(JSON.parse(plain)) ?? null;
  } catch {
    return null;
  }
}

function toList<T>(value: T | readonly T[]): T[] {
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

function deriveKey(secret: string): Buffer {
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    throw new TypeError(`createSealer: each secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), SALT, INFO, 32));
}

function checkKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new TypeError("createSealer: each key must be a Uint8Array of 32 bytes (AES-256)");
  }
  return Buffer.from(key);
}
