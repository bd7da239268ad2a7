import { createHash, randomBytes, randomInt } from "node:crypto";
import type { TestAccount } from "./types.js";

/** Letters and digits people cannot confuse (no 0/O, 1/I/L). */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export type DeviceCodeStatus = "pending" | "approved" | "denied" | "consumed";

/** One device authorization, from usercode to the code exchange. */
export interface DeviceCode {
  deviceAuthId: string;
  userCode: string;
  expiresAt: number;
  status: DeviceCodeStatus;
  account?: Required<TestAccount>;
  polls: number;
  lastPollAt?: number;
}

/** An authorization code handed out by a successful poll, redeemable once. */
export interface AuthorizationCode {
  code: string;
  challenge: string;
  verifier: string;
  account: Required<TestAccount>;
  expiresAt: number;
  used: boolean;
}

function randomCode(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Upper-case `XXXX-XXXXX`, like the codes the CLI prints. */
export function newUserCode(): string {
  return `${randomCode(4)}-${randomCode(5)}`;
}

/** Normalise what a person typed: case, spaces, and a missing dash. */
export function normaliseUserCode(input: string): string {
  const bare = input.toUpperCase().replace(/[^A-Z0-9]/g, "");
  return bare.length === 9 ? `${bare.slice(0, 4)}-${bare.slice(4)}` : bare;
}

/** A fresh PKCE pair (S256), generated server-side as upstream does for device codes. */
export function newPkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString("base64url");
  return { verifier, challenge: s256(verifier) };
}

/** The S256 transform of RFC 7636. */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** A random opaque identifier with a readable prefix. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString("base64url")}`;
}
