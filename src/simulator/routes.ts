import { accountsCheck, models, resetCredits, usage } from "./backend-routes.js";
import type { Route } from "./context.js";
import { devicePage, devicePageSubmit } from "./device-page.js";
import { deviceToken, usercode } from "./device-routes.js";
import { oauthRevoke, oauthToken } from "./oauth-routes.js";
import { responses } from "./responses-route.js";

/** Path of the responses endpoint, also the target of the WebSocket attempt. */
export const RESPONSES_PATH = "/backend-api/codex/responses";

/** Every route the simulator serves; anything else is a recorded 404. */
export const ROUTES: Route[] = [
  { method: "POST", path: "/api/accounts/deviceauth/usercode", endpoint: "usercode", handler: usercode },
  { method: "POST", path: "/api/accounts/deviceauth/token", endpoint: "deviceToken", handler: deviceToken },
  // The endpoint is refined by grant type inside the handler (codeExchange or refresh).
  { method: "POST", path: "/oauth/token", endpoint: "codeExchange", handler: oauthToken },
  { method: "POST", path: "/oauth/revoke", endpoint: "revoke", handler: oauthRevoke },
  { method: "GET", path: "/codex/device", endpoint: "device", handler: devicePage },
  { method: "POST", path: "/codex/device", endpoint: "device", handler: devicePageSubmit },
  { method: "GET", path: "/backend-api/codex/models", endpoint: "models", handler: models },
  { method: "GET", path: "/backend-api/wham/accounts/check", endpoint: "accountsCheck", handler: accountsCheck },
  { method: "GET", path: "/backend-api/wham/usage", endpoint: "usage", handler: usage },
  { method: "GET", path: "/backend-api/wham/rate-limit-reset-credits", endpoint: "resetCredits", handler: resetCredits },
  { method: "POST", path: RESPONSES_PATH, endpoint: "responses", handler: responses },
];

/** The route for a method and path; `methodMismatch` when only the path is known. */
export function findRoute(method: string, path: string): Route | "methodMismatch" | undefined {
  const onPath = ROUTES.filter((route) => route.path === path);
  if (onPath.length === 0) return undefined;
  return onPath.find((route) => route.method === method) ?? "methodMismatch";
}
