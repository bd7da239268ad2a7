import type { RouteHandler } from "./context.js";
import { enterEndpoint, tampered } from "./endpoint-faults.js";
import { openAiError, parseJsonObject, sendJson, stringField } from "./http.js";
import { CLIENT_ID } from "./tokens.js";

/** `POST /api/accounts/deviceauth/usercode`: start a device authorization. */
export const usercode: RouteHandler = (ctx, { res, body }) => {
  if (enterEndpoint(ctx, "usercode", res)) return;
  if (ctx.faults.take("device-auth-disabled")) {
    sendJson(res, 404, openAiError("Device code authorization is not enabled.", "deviceauth_disabled"));
    return;
  }
  const clientId = stringField(parseJsonObject(body), "client_id");
  if (clientId === undefined) {
    sendJson(res, 400, openAiError("Missing client_id.", "invalid_request"));
    return;
  }
  if (clientId !== CLIENT_ID) {
    sendJson(res, 400, openAiError("Unknown client_id.", "invalid_client"));
    return;
  }
  const code = ctx.flow.create();
  // `interval` is a string: the CLI refuses a number.
  sendJson(
    res,
    200,
    tampered(ctx, "usercode", {
      device_auth_id: code.deviceAuthId,
      user_code: code.userCode,
      interval: String(ctx.interval),
    }),
  );
};

const PENDING = openAiError(
  "Device authorization is pending. Please try again.",
  "deviceauth_authorization_pending",
);
const EXPIRED = openAiError(
  "Device authorization code has expired. Please request a new code.",
  "deviceauth_expired",
);
const DENIED = openAiError("Device authorization was denied by the user.", "deviceauth_denied");
const UNKNOWN = openAiError("Device authorization not found.", "deviceauth_not_found");

/** `POST /api/accounts/deviceauth/token`: poll; 403 while pending (and, as upstream, for expired or denied). */
export const deviceToken: RouteHandler = (ctx, { res, body }) => {
  if (enterEndpoint(ctx, "deviceToken", res)) return;
  const json = parseJsonObject(body);
  const deviceAuthId = stringField(json, "device_auth_id");
  const userCode = stringField(json, "user_code");
  if (deviceAuthId === undefined || userCode === undefined) {
    sendJson(res, 400, openAiError("device_auth_id and user_code are required.", "invalid_request"));
    return;
  }
  const code = ctx.flow.lookup(deviceAuthId, userCode);
  if (!code) {
    sendJson(res, 404, UNKNOWN);
    return;
  }
  const now = ctx.now();
  const last = code.lastPollAt;
  code.lastPollAt = now;
  code.polls += 1;
  if (last !== undefined && now - last < ctx.interval * 1000 && ctx.faults.take("slow-down")) {
    sendJson(res, 429, openAiError("Polling too frequently; slow down.", "slow_down"));
    return;
  }
  if (code.status === "pending" && ctx.faults.take("code-expired")) {
    sendJson(res, 403, EXPIRED);
    return;
  }
  if (code.status === "pending" && ctx.faults.take("deny")) code.status = "denied";
  const auto = ctx.autoApprove;
  if (auto && code.status === "pending" && code.polls > auto.afterPolls) ctx.flow.approve(code.userCode, auto.account);
  const result = ctx.flow.poll(code);
  switch (result.kind) {
    case "pending":
      sendJson(res, 403, PENDING);
      return;
    case "expired":
      sendJson(res, 403, EXPIRED);
      return;
    case "denied":
      sendJson(res, 403, DENIED);
      return;
    case "unknown":
      sendJson(res, 404, UNKNOWN);
      return;
    case "approved":
      sendJson(res, 200, {
        authorization_code: result.code.code,
        code_challenge: result.code.challenge,
        code_verifier: result.code.verifier,
      });
  }
};
