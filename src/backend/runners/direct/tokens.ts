/** Token grants, narrowed from unknown JSON; claims come from the shared id-token module. */
import type { Account } from "../../../contract.js";
import { decodeJwtClaims, identityFromIdToken } from "../id-token.js";
import { asNumber, asRecord, asString } from "./http.js";

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
