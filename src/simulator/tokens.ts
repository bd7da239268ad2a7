import { randomBytes } from "node:crypto";
import { signJwt, verifyJwt } from "./jwt.js";
import { newId } from "./device-codes.js";
import type { TestAccount } from "./types.js";

/** The public Codex client id: tokens name it as their audience. */
export const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";
const AUTH_CLAIM = "https://api.openai.com/auth";
const PROFILE_CLAIM = "https://api.openai.com/profile";

/** What `/oauth/token` returns on success. */
export interface TokenSet {
  id_token: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: "Bearer";
  scope: string;
}

/** One login: every refresh rotates inside it; revoking it kills all its tokens. */
interface Grant {
  account: Required<TestAccount>;
  userId: string;
  revoked: boolean;
}

interface RefreshRecord {
  grantId: string;
  used: boolean;
}

export type RefreshResult =
  | { ok: true; tokens: TokenSet }
  | { ok: false; reason: "reused" | "invalidated" | "unknown" };

export type AccessCheck =
  | { ok: true; account: Required<TestAccount> }
  | { ok: false; reason: "expired" | "revoked" | "invalid" };

/** Issues, rotates, verifies and revokes the simulator's tokens (HS256, per-run key). */
export class TokenStore {
  private readonly key = randomBytes(32);
  private readonly grants = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly issued: string[] = [];

  constructor(
    private readonly issuer: () => string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  /** Start a new grant for `account` and issue its first token set. */
  login(account: Required<TestAccount>): TokenSet {
    const grantId = newId("grant");
    this.grants.set(grantId, { account, userId: `user-${randomBytes(9).toString("base64url")}`, revoked: false });
    return this.issue(grantId);
  }

  /** Rotate `refreshToken`: the old one becomes used, a new set is issued. */
  refresh(refreshToken: string): RefreshResult {
    const record = this.refreshTokens.get(refreshToken);
    if (!record) return { ok: false, reason: "unknown" };
    const grant = this.grants.get(record.grantId);
    if (!grant || grant.revoked) return { ok: false, reason: "invalidated" };
    if (record.used) return { ok: false, reason: "reused" };
    record.used = true;
    return { ok: true, tokens: this.issue(record.grantId) };
  }

  /** Revoke the grant a refresh or access token belongs to. False if the token is unknown. */
  revoke(token: string): boolean {
    const grantId = this.refreshTokens.get(token)?.grantId ?? this.grantOfAccess(token);
    const grant = grantId ? this.grants.get(grantId) : undefined;
    if (!grant) return false;
    grant.revoked = true;
    return true;
  }

  /** Revoke every grant issued so far (a password change). */
  revokeAll(): void {
    for (const grant of this.grants.values()) grant.revoked = true;
  }

  /** Check a bearer access token: signature, expiry, revocation. */
  checkAccess(token: string): AccessCheck {
    const claims = verifyJwt(token, this.key);
    const grantId = typeof claims?.["grant"] === "string" ? claims["grant"] : undefined;
    const grant = grantId ? this.grants.get(grantId) : undefined;
    if (!claims || !grant || claims["token_use"] !== "access") return { ok: false, reason: "invalid" };
    if (grant.revoked) return { ok: false, reason: "revoked" };
    const exp = typeof claims["exp"] === "number" ? claims["exp"] : 0;
    if (exp * 1000 <= this.now()) return { ok: false, reason: "expired" };
    return { ok: true, account: grant.account };
  }

  /** Every token string issued, in order. */
  allIssued(): string[] {
    return [...this.issued];
  }

  private grantOfAccess(token: string): string | undefined {
    const grant = verifyJwt(token, this.key)?.["grant"];
    return typeof grant === "string" ? grant : undefined;
  }

  private issue(grantId: string): TokenSet {
    const grant = this.grants.get(grantId);
    if (!grant) throw new Error("unknown grant");
    const { account, userId } = grant;
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.ttlSeconds;
    const auth = {
      chatgpt_account_id: account.accountId,
      chatgpt_plan_type: account.planType,
      chatgpt_user_id: userId,
      user_id: userId,
    };
    const common = { iss: this.issuer(), sub: userId, iat, exp, jti: newId("jti"), grant: grantId };
    const idToken = signJwt(
      {
        ...common,
        aud: [CLIENT_ID],
        token_use: "id",
        email: account.email,
        email_verified: true,
        name: account.name,
        auth_time: iat,
        [AUTH_CLAIM]: auth,
      },
      this.key,
    );
    const accessToken = signJwt(
      {
        ...common,
        jti: newId("jti"),
        aud: ["https://api.openai.com/v1"],
        client_id: CLIENT_ID,
        token_use: "access",
        scp: ["openid", "profile", "email", "offline_access"],
        [AUTH_CLAIM]: auth,
        [PROFILE_CLAIM]: { email: account.email, email_verified: true },
      },
      this.key,
    );
    const refreshToken = `rt_${randomBytes(32).toString("base64url")}`;
    this.refreshTokens.set(refreshToken, { grantId, used: false });
    this.issued.push(accessToken, refreshToken, idToken);
    return {
      id_token: idToken,
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: this.ttlSeconds,
      token_type: "Bearer",
      scope: "openid profile email offline_access",
    };
  }
}
