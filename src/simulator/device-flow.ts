import {
  newId,
  newPkcePair,
  newUserCode,
  normaliseUserCode,
  s256,
  type AuthorizationCode,
  type DeviceCode,
} from "./device-codes.js";
import { completeAccount } from "./accounts.js";
import type { TestAccount } from "./types.js";

/** Authorization codes are short-lived, as upstream. */
const AUTH_CODE_TTL_MS = 10 * 60 * 1000;

export type PollResult =
  | { kind: "pending" }
  | { kind: "unknown" }
  | { kind: "expired" }
  | { kind: "denied" }
  | { kind: "approved"; code: AuthorizationCode };

export type ExchangeResult =
  | { ok: true; account: Required<TestAccount> }
  | { ok: false; error: "invalid_grant"; description: string };

/** Device codes and the authorization codes they turn into. */
export class DeviceFlow {
  private readonly byId = new Map<string, DeviceCode>();
  private readonly byUserCode = new Map<string, DeviceCode>();
  private readonly authCodes = new Map<string, AuthorizationCode>();

  constructor(
    private readonly codeTtlMs: number,
    private readonly now: () => number,
  ) {}

  create(): DeviceCode {
    let userCode = newUserCode();
    while (this.byUserCode.has(userCode)) userCode = newUserCode();
    const code: DeviceCode = {
      deviceAuthId: newId("deviceauth"),
      userCode,
      expiresAt: this.now() + this.codeTtlMs,
      status: "pending",
      polls: 0,
    };
    this.byId.set(code.deviceAuthId, code);
    this.byUserCode.set(userCode, code);
    return code;
  }

  /** The pending, unexpired code a person typed, if any. */
  findPending(typed: string): DeviceCode | undefined {
    const code = this.byUserCode.get(normaliseUserCode(typed));
    if (!code || code.status !== "pending" || code.expiresAt <= this.now()) return undefined;
    return code;
  }

  approve(typed: string, account?: TestAccount): boolean {
    const code = this.findPending(typed);
    if (!code) return false;
    code.status = "approved";
    code.account = completeAccount(account);
    return true;
  }

  deny(typed: string): boolean {
    const code = this.findPending(typed);
    if (!code) return false;
    code.status = "denied";
    return true;
  }

  pendingCodes(): string[] {
    return [...this.byUserCode.values()]
      .filter((code) => code.status === "pending" && code.expiresAt > this.now())
      .map((code) => code.userCode);
  }

  /** The device code a poll names; both fields must agree. */
  lookup(deviceAuthId: string, userCode: string): DeviceCode | undefined {
    const code = this.byId.get(deviceAuthId);
    return code && code.userCode === normaliseUserCode(userCode) ? code : undefined;
  }

  /** One poll of the token endpoint (after fault handling). */
  poll(code: DeviceCode): PollResult {
    if (code.status === "consumed") return { kind: "unknown" };
    if (code.status === "denied") return { kind: "denied" };
    if (code.expiresAt <= this.now()) return { kind: "expired" };
    if (code.status !== "approved" || !code.account) return { kind: "pending" };
    code.status = "consumed";
    const { verifier, challenge } = newPkcePair();
    const auth: AuthorizationCode = {
      code: newId("ac"),
      challenge,
      verifier,
      account: code.account,
      expiresAt: this.now() + AUTH_CODE_TTL_MS,
      used: false,
    };
    this.authCodes.set(auth.code, auth);
    return { kind: "approved", code: auth };
  }

  /** Redeem an authorization code once, proving the PKCE verifier (S256). */
  exchange(codeValue: string, verifier: string): ExchangeResult {
    const code = this.authCodes.get(codeValue);
    if (!code || code.used || code.expiresAt <= this.now()) {
      return { ok: false, error: "invalid_grant", description: "Invalid or expired authorization code." };
    }
    if (s256(verifier) !== code.challenge) {
      return { ok: false, error: "invalid_grant", description: "PKCE verification failed." };
    }
    code.used = true;
    return { ok: true, account: code.account };
  }
}
