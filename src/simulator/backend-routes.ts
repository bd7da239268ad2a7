import { authenticate } from "./backend-auth.js";
import type { RouteHandler } from "./context.js";
import { enterEndpoint } from "./endpoint-faults.js";
import { sendJson } from "./http.js";
import { meterOf, usageBody } from "./usage.js";

/** `1.2.3` → [1, 2, 3]; undefined if it is not a dotted version. */
function parseVersion(text: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return match ? match.slice(1).map(Number) : undefined;
}

function atLeast(version: number[], minimum: number[]): boolean {
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Clients older than this see no models, as upstream hides models from stale clients. */
const MINIMAL_CLIENT_VERSION = "0.100.0";

/** One catalogue entry, with every field codex 0.169 requires to decode the list. */
function modelInfo(slug: string, priority: number): Record<string, unknown> {
  return {
    slug,
    display_name: slug,
    description: "Simulated model for offline tests.",
    default_reasoning_level: "medium",
    supported_reasoning_levels: [
      { effort: "low", description: "Fast responses with lighter reasoning" },
      { effort: "medium", description: "Balances speed and reasoning depth" },
      { effort: "high", description: "Greater reasoning depth" },
    ],
    shell_type: "shell_command",
    visibility: "list",
    minimal_client_version: MINIMAL_CLIENT_VERSION,
    supported_in_api: true,
    priority,
    availability_nux: null,
    upgrade: null,
    prefer_websockets: false,
    support_verbosity: false,
    default_verbosity: null,
    apply_patch_tool_type: "freeform",
    web_search_tool_type: "text",
    input_modalities: ["text"],
    supports_image_detail_original: false,
    truncation_policy: { mode: "tokens", limit: 10000 },
    supports_parallel_tool_calls: true,
    context_window: 272000,
    max_context_window: 272000,
    auto_compact_token_limit: null,
    default_reasoning_summary: "none",
    experimental_supported_tools: [],
    available_in_plans: ["free", "plus", "pro", "team", "business", "enterprise", "edu"],
    supports_search_tool: false,
    supports_experimental_context: false,
    default_service_tier: null,
    service_tiers: [],
    additional_speed_tiers: [],
    supports_reasoning_summary_parameter: true,
    supports_reasoning_summaries: true,
    supports_reasoning_effort_updates: true,
    // Required: without an instructions template the CLI rejects the whole catalogue.
    model_messages: { instructions_template: "You are a simulated Codex model answering from a local test server." },
  };
}

/** `GET /backend-api/codex/models?client_version=X`: the catalogue, gated by client version. */
export const models: RouteHandler = (ctx, { req, res, url }) => {
  if (enterEndpoint(ctx, "models", res)) return;
  if (!authenticate(ctx, req, res)) return;
  const version = parseVersion(url.searchParams.get("client_version") ?? "");
  if (!version) {
    sendJson(res, 400, { detail: "client_version is required" });
    return;
  }
  const minimum = parseVersion(MINIMAL_CLIENT_VERSION) ?? [];
  const list = atLeast(version, minimum) ? ctx.models.map((slug, i) => modelInfo(slug, i + 1)) : [];
  sendJson(res, 200, { models: list }, { etag: `"sim-models-${ctx.models.length}"` });
};

/** `GET /backend-api/wham/accounts/check`: the account's routing, always the default workspace. */
export const accountsCheck: RouteHandler = (ctx, { req, res }) => {
  if (enterEndpoint(ctx, "accountsCheck", res)) return;
  const account = authenticate(ctx, req, res);
  if (!account) return;
  sendJson(res, 200, {
    accounts: [
      {
        id: account.accountId,
        workspace_backend_origin: "https://chatgpt.com",
        account_routing_override: "NO_CONSTRAINT",
      },
    ],
  });
};

/**
 * `GET /backend-api/wham/usage`: the account's rate-limit meter (what `account/rateLimits/read` of
 * `codex app-server` reports). Full while a usage-limit fault it hit has not reset, low otherwise.
 */
export const usage: RouteHandler = (ctx, { req, res }) => {
  if (enterEndpoint(ctx, "usage", res)) return;
  const account = authenticate(ctx, req, res);
  if (!account) return;
  sendJson(res, 200, usageBody(meterOf(ctx, account.accountId, account.planType)));
};

/**
 * `GET /backend-api/wham/rate-limit-reset-credits`: the credits that would reset a reached limit early.
 * The simulator grants none; codex 0.169 reports this as `rateLimitResetCredits` of `account/rateLimits/read`.
 */
export const resetCredits: RouteHandler = (ctx, { req, res }) => {
  if (enterEndpoint(ctx, "resetCredits", res)) return;
  if (!authenticate(ctx, req, res)) return;
  sendJson(res, 200, { available_count: 0, credits: [] });
};
