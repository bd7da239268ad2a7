import type { RouteHandler, SimContext } from "./context.js";
import { enterEndpoint, tampered } from "./endpoint-faults.js";
import { mediaType, openAiError, parseJsonObject, sendJson, stringField } from "./http.js";
import { CLIENT_ID } from "./tokens.js";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Parse a token request: form for the code exchange, JSON (or form) for a refresh. */
function parseTokenRequest(req: IncomingMessage, body: string): Record<string, unknown> | undefined {
  const type = mediaType(req);
  if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(body));
  if (type === "application/json") return parseJsonObject(body);
  return undefined;
}

/** Which counted endpoint a `/oauth/token` request is: a refresh grant or (anything else) the code exchange. */
export function tokenEndpointOf(req: IncomingMessage, body: string): "refresh" | "codeExchange" {
  return stringField(parseTokenRequest(req, body), "grant_type") === "refresh_token" ? "refresh" : "codeExchange";
}

/** `POST /oauth/token`: the device flow's code exchange (form) or a refresh (JSON). */
export const oauthToken: RouteHandler = (ctx, { req, res, body }) => {
  const params = parseTokenRequest(req, body);
  const grantType = stringField(params, "grant_type");
  if (grantType === "refresh_token") return refresh(ctx, res, params);
  if (grantType === "authorization_code" && mediaType(req) === "application/x-www-form-urlencoded") {
    return codeExchange(ctx, req, res, params);
  }
  sendJson(res, 400, {
    error: "unsupported_grant_type",
    error_description: "Expected a form-encoded authorization_code grant or a refresh_token grant.",
  });
};

function oauthError(res: ServerResponse, error: string, description: string): void {
  sendJson(res, 400, { error, error_description: description });
}

/** The redirect URI the CLI registers: `${issuer}/deviceauth/callback`, on the origin it was given. */
function expectedRedirects(ctx: SimContext, req: IncomingMessage): string[] {
  const fromHost = req.headers.host ? `http://${req.headers.host}/deviceauth/callback` : undefined;
  return [`${ctx.issuer}/deviceauth/callback`, ...(fromHost ? [fromHost] : [])];
}

function codeExchange(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, unknown> | undefined,
): void {
  if (enterEndpoint(ctx, "codeExchange", res)) return;
  const code = stringField(params, "code");
  const verifier = stringField(params, "code_verifier");
  const redirectUri = stringField(params, "redirect_uri");
  if (stringField(params, "client_id") !== CLIENT_ID) return oauthError(res, "invalid_client", "Unknown client_id.");
  if (!code || !verifier) return oauthError(res, "invalid_request", "code and code_verifier are required.");
  if (!redirectUri || !expectedRedirects(ctx, req).includes(redirectUri)) {
    return oauthError(res, "invalid_request", "redirect_uri does not match the device callback.");
  }
  const result = ctx.flow.exchange(code, verifier);
  if (!result.ok) return oauthError(res, result.error, result.description);
  sendJson(res, 200, tampered(ctx, "codeExchange", ctx.tokens.login(result.account)));
}

const REUSED = openAiError(
  "Your refresh token has already been used to generate a new access token. Please try signing in again.",
  "refresh_token_reused",
);
const INVALIDATED = openAiError(
  "Your refresh token was invalidated. Please try signing in again.",
  "refresh_token_invalidated",
);

function refresh(ctx: SimContext, res: ServerResponse, params: Record<string, unknown> | undefined): void {
  if (enterEndpoint(ctx, "refresh", res)) return;
  const token = stringField(params, "refresh_token");
  if (stringField(params, "client_id") !== CLIENT_ID) return oauthError(res, "invalid_client", "Unknown client_id.");
  if (!token) return oauthError(res, "invalid_request", "refresh_token is required.");
  const result = ctx.tokens.refresh(token);
  if (result.ok) return sendJson(res, 200, tampered(ctx, "refresh", result.tokens));
  if (result.reason === "reused") {
    ctx.stats.refreshReuse += 1;
    return sendJson(res, 401, REUSED);
  }
  sendJson(res, 401, INVALIDATED);
}

/** `POST /oauth/revoke`: revoke the grant of a refresh (or access) token; 200 even for unknown tokens (RFC 7009). */
export const oauthRevoke: RouteHandler = (ctx, { req, res, body }) => {
  if (enterEndpoint(ctx, "revoke", res)) return;
  const params = parseTokenRequest(req, body);
  const token = stringField(params, "token");
  if (!token) return oauthError(res, "invalid_request", "token is required.");
  ctx.tokens.revoke(token);
  sendJson(res, 200, {});
};
