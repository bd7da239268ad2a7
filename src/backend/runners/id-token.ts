/**
 * JWT claims and the display identity of an OpenAI id_token, shared by both
 * runners. Signatures are not checked (the codex CLI does not either); no
 * `node:` import, so the direct runner stays usable on edge runtimes.
 */
import type { Account } from "../../contract.js";
import { asRecord } from "../core/json.js";

const AUTH_CLAIM = "https://api.openai.com/auth";
const PROFILE_CLAIM = "https://api.openai.com/profile";
/** Real tokens are a few kilobytes; a longer string is not read as one. */
export const MAX_TOKEN_CHARS = 64 * 1024;
/** An email address is at most 254 characters; a longer claim (or plan, name, id) is no identity to show. */
const MAX_CLAIM_CHARS = 320;

// An empty claim names nobody; an oversized one is not kept, not even cut short.
const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" && value.length <= MAX_CLAIM_CHARS ? value : undefined;

function base64UrlDecode(part: string): string {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  // Invalid UTF-8 is a broken token, not a name with replacement characters.
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The claims of a JWT's payload, or undefined when it is not a JWT (or longer than any real one). */
export function decodeJwtClaims(token: unknown): Record<string, unknown> | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    return asRecord(JSON.parse(base64UrlDecode(parts[1])));
  } catch {
    return undefined;
  }
}

/** The display identity and account id an id_token names (all null when it names none). */
export function identityFromIdToken(idToken: unknown): { account: Account; accountId: string | null } {
  const claims = decodeJwtClaims(idToken) ?? {};
  const auth = asRecord(claims[AUTH_CLAIM]) ?? {};
  const profile = asRecord(claims[PROFILE_CLAIM]) ?? {};
  return {
    account: {
      email: text(claims.email) ?? text(profile.email) ?? null,
      name: text(claims.name) ?? null,
      planType: text(auth.chatgpt_plan_type) ?? null,
    },
    accountId: text(auth.chatgpt_account_id) ?? null,
  };
}
