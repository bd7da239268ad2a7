import type { SimContext } from "./context.js";

/** The 5-hour window every plan's primary meter measures. */
const PRIMARY_WINDOW_SECONDS = 300 * 60;
/** The weekly window of the secondary meter. */
const SECONDARY_WINDOW_SECONDS = 10080 * 60;

/** The 5-hour meter before any limit: low, so a client sees room left. */
const NORMAL_PRIMARY_PERCENT = 12;
/** The weekly meter, the same as the usage-limit fault's `x-codex-secondary-used-percent`. */
const SECONDARY_PERCENT = 42;

/** One meter window as upstream sends it (all times in whole seconds; `reset_at` is Unix time). */
export interface UsageWindow {
  used_percent: number;
  limit_window_seconds: number;
  reset_after_seconds: number;
  reset_at: number;
}

/** The meter of an account, as both the usage read and the usage-limit 429 headers report it. */
export interface UsageMeter {
  planType: string;
  limitReached: boolean;
  primary: UsageWindow;
  secondary: UsageWindow;
}

/** A usage limit an account hit: when it lifts, and the plan the 429 named. */
export interface UsageLimitHit {
  resetsAt: number;
  planType: string;
}

function nowSeconds(ctx: SimContext): number {
  return Math.floor(ctx.now() / 1000);
}

function meterWindow(now: number, usedPercent: number, seconds: number, resetAt: number): UsageWindow {
  return { used_percent: usedPercent, limit_window_seconds: seconds, reset_after_seconds: Math.max(0, resetAt - now), reset_at: resetAt };
}

/** The end of the fixed window of `seconds` that holds `now`: stable across reads, so deterministic. */
function windowEnd(now: number, seconds: number): number {
  return (Math.floor(now / seconds) + 1) * seconds;
}

/** The meter of a limit that lifts at `resetsAt`: the primary window full, the weekly one resetting six days after. */
export function limitedMeter(ctx: SimContext, hit: UsageLimitHit): UsageMeter {
  const now = nowSeconds(ctx);
  return {
    planType: hit.planType,
    limitReached: true,
    primary: meterWindow(now, 100, PRIMARY_WINDOW_SECONDS, hit.resetsAt),
    secondary: meterWindow(now, SECONDARY_PERCENT, SECONDARY_WINDOW_SECONDS, hit.resetsAt + 6 * 86400),
  };
}

/** The account's meter now: limited while a recorded hit has not reset, otherwise low usage in fixed windows. */
export function meterOf(ctx: SimContext, accountId: string, planType: string): UsageMeter {
  const now = nowSeconds(ctx);
  const hit = ctx.limitHits.get(accountId);
  if (hit && hit.resetsAt > now) return limitedMeter(ctx, hit);
  return {
    planType,
    limitReached: false,
    primary: meterWindow(now, NORMAL_PRIMARY_PERCENT, PRIMARY_WINDOW_SECONDS, windowEnd(now, PRIMARY_WINDOW_SECONDS)),
    secondary: meterWindow(now, SECONDARY_PERCENT, SECONDARY_WINDOW_SECONDS, windowEnd(now, SECONDARY_WINDOW_SECONDS)),
  };
}

/** The `x-codex-*` headers of a 429 `usage_limit_reached` (codex turns them into its rate-limit snapshot). */
export function meterHeaders(meter: UsageMeter): Record<string, string> {
  return {
    "x-codex-primary-used-percent": String(meter.primary.used_percent),
    "x-codex-primary-window-minutes": String(meter.primary.limit_window_seconds / 60),
    "x-codex-primary-reset-at": String(meter.primary.reset_at),
    "x-codex-secondary-used-percent": String(meter.secondary.used_percent),
    "x-codex-secondary-window-minutes": String(meter.secondary.limit_window_seconds / 60),
    "x-codex-secondary-reset-at": String(meter.secondary.reset_at),
    "x-codex-plan-type": meter.planType,
  };
}

/** The body of `GET /backend-api/wham/usage`, as the ChatGPT backend shapes it. */
export function usageBody(meter: UsageMeter): Record<string, unknown> {
  return {
    plan_type: meter.planType,
    rate_limit: {
      allowed: !meter.limitReached,
      limit_reached: meter.limitReached,
      primary_window: meter.primary,
      secondary_window: meter.secondary,
    },
    credits: null,
  };
}
