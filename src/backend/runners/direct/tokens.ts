/** Token grants and JWT claims, narrowed from unknown JSON. Signatures are not checked (as the CLI). */
import type { Account } from "../../../contract.js";
import { asNumber, asRecord, asString } from "./http.js";

const AUTH_CLAIM = "https://api.openai.com/auth";
const PROFILE_CLAIM = "https://api.openai.com/profile";

/** What a session keeps of a login. Lives only in the sealed session data. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  /** Epoch ms when it was obtained (absent in sessions written by older versions). */
  obtainedAt?: number;
  /** Sent as `chatgpt-account-id`; never shown to the browser. */
  accountId: string | null;
  account: Account;
}

function base64UrlDecode(part: string): string {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of a JWT's payload, or undefined when it is not a JWT. */
export function decodeJwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    return asRecord(JSON.parse(base64UrlDecode(parts[1])));
  } catch {
    return undefined;
  }
}

/** The display identity and account id an id_token names. */
export function identityFromIdToken(idToken: string): { account: Account; accountId: string | null } {
  const claims = decodeJwtClaims(idToken) ?? {};
  const auth = asRecord(claims[AUTH_CLAIM]) ?? {};
  const profile = asRecord(claims[PROFILE_CLAIM]) ?? {};
  return {
    account: {
      email: asString(claims.email) ?? asString(profile.email) ?? null,
      name: asString(claims.name) ?? null,
      planType: asString(auth.chatgpt_plan_type) ?? null,
    },
    accountId: asString(auth.chatgpt_account_id) ?? null,
  };
}

/** Epoch ms the access token expires: `expires_in` when given, else its `exp` claim, else in an hour. */
function expiryOf(grant: Record<string, unknown>, accessToken: string, now: number): number {
  const expiresIn = asNumber(grant.expires_in);
  if (expiresIn !== undefined) return now + expiresIn * 1000;
  const exp = asNumber(decodeJwtClaims(accessToken)?.exp);
  return exp !== undefined ? exp * 1000 : now + 3_600_000;
}

/**
 * Tokens from a token-endpoint answer. A refresh answer may omit the id_token
 * or the refresh token; `previous` fills them in.
 */
export function tokensFromGrant(json: unknown, now: number, previous?: StoredTokens): StoredTokens | undefined {
  const grant = asRecord(json);
  if (!grant) return undefined;
  const accessToken = asString(grant.access_token);
  const refreshToken = asString(grant.refresh_token) ?? previous?.refreshToken;
  const idToken = asString(grant.id_token);
  if (!accessToken || !refreshToken) return undefined;
  if (!idToken && !previous) return undefined;
  const identity = idToken ? identityFromIdToken(idToken) : previous!;
  return {
    accessToken,
    refreshToken,
    expiresAt: expiryOf(grant, accessToken, now),
    obtainedAt: now,
    accountId: identity.accountId ?? previous?.accountId ?? null,
    account: identity.account,
  };
}
