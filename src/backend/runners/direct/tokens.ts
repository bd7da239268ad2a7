/** Token grants, narrowed from unknown JSON; claims come from the shared id-token module. */
import type { Account } from "../../../contract.js";
import { asNumber, asRecord, asString } from "../../core/json.js";
import { decodeJwtClaims, identityFromIdToken, MAX_TOKEN_CHARS } from "../id-token.js";

/** What a session keeps of a login. Lives only in the sealed session data. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  /** Epoch ms when it was obtained; optional, as stored session data may lack it. */
  obtainedAt?: number;
  /** Sent as `chatgpt-account-id`; never shown to the browser. */
  accountId: string | null;
  account: Account;
}

/** No access token lives a year; an expiry further out (or already past) is not believed. */
const MAX_LIFETIME_MS = 366 * 24 * 3_600_000;
const DEFAULT_LIFETIME_MS = 3_600_000;

/**
 * Epoch ms the access token expires: `expires_in` when it is believable, else
 * its `exp` claim when that is, else in an hour. A negative lifetime would
 * refresh on every call; a huge one would never refresh ahead of time.
 */
function expiryOf(grant: Record<string, unknown>, accessToken: string, now: number): number {
  const believable = (at: number): boolean => at > now && at <= now + MAX_LIFETIME_MS;
  const expiresIn = asNumber(grant.expires_in);
  if (expiresIn !== undefined && believable(now + expiresIn * 1000)) return now + expiresIn * 1000;
  const exp = asNumber(decodeJwtClaims(accessToken)?.exp);
  if (exp !== undefined && believable(exp * 1000)) return exp * 1000;
  return now + DEFAULT_LIFETIME_MS;
}

/**
 * Tokens from a token-endpoint answer. A refresh answer may omit the id_token
 * or the refresh token; `previous` fills them in. A first sign-in whose
 * id_token cannot be read (not a JWT, oversized, claims not an object) is
 * unreadable, as the codex CLI holds it; a refresh keeps the identity it had,
 * since the rotated refresh token must be kept whatever else the answer holds.
 */
export function tokensFromGrant(json: unknown, now: number, previous?: StoredTokens): StoredTokens | undefined {
  const grant = asRecord(json);
  if (!grant) return undefined;
  const accessToken = asString(grant.access_token);
  const givenRefreshToken = asString(grant.refresh_token);
  // Longer than any real token: the answer is unreadable (never fall back to the refresh token just spent).
  if (oversized(accessToken) || oversized(givenRefreshToken)) return undefined;
  const refreshToken = givenRefreshToken ?? previous?.refreshToken;
  if (!accessToken || !refreshToken) return undefined;
  const idToken = asString(grant.id_token);
  const named = idToken !== undefined && decodeJwtClaims(idToken) !== undefined ? identityFromIdToken(idToken) : undefined;
  const identity = named ?? previous;
  if (!identity) return undefined;
  return {
    accessToken,
    refreshToken,
    expiresAt: expiryOf(grant, accessToken, now),
    obtainedAt: now,
    accountId: identity.accountId ?? previous?.accountId ?? null,
    account: identity.account,
  };
}

function oversized(token: string | undefined): boolean {
  return token !== undefined && token.length > MAX_TOKEN_CHARS;
}
