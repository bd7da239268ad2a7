import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "./context.js";
import { openAiError, sendJson } from "./http.js";
import type { TestAccount } from "./types.js";

const MESSAGES = {
  invalid: ["Could not parse your authentication token. Please try signing in again.", "invalid_token"],
  expired: ["Your authentication token has expired. Please try signing in again.", "token_expired"],
  revoked: ["Your authentication token has been invalidated. Please try signing in again.", "token_invalidated"],
} as const;

/**
 * Check the bearer access token and the `chatgpt-account-id` header (which must name the
 * token's account). Answers 401/403 itself and returns undefined on failure.
 */
export function authenticate(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
): Required<TestAccount> | undefined {
  const header = req.headers.authorization ?? "";
  const token = /^Bearer (\S+)$/i.exec(header)?.[1];
  const check = token ? ctx.tokens.checkAccess(token) : ({ ok: false, reason: "invalid" } as const);
  if (!check.ok) {
    const [message, code] = MESSAGES[check.reason];
    sendJson(res, 401, openAiError(message, code));
    return undefined;
  }
  const accountHeader = req.headers["chatgpt-account-id"];
  if (accountHeader !== check.account.accountId) {
    sendJson(res, 403, openAiError("chatgpt-account-id does not match the token's account.", "account_mismatch"));
    return undefined;
  }
  return check.account;
}
