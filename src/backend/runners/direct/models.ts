/** Model discovery per account (cached in the session with a TTL) and the choice of a model for a run. */
import { CodexError } from "../../core/errors.js";
import { asRecord, asString } from "../../core/json.js";
import type { RunnerContext } from "../types.js";
import { mapUpstreamReply } from "./errors.js";
import { request } from "./http.js";
import { CLI_VERSION, type ResolvedOptions } from "./options.js";
import { backendHeaders } from "./responses.js";
import { readModels, writeModels } from "./session-data.js";
import type { StoredTokens } from "./tokens.js";

/** The slugs of a `/codex/models` answer, in the upstream's order. */
export function parseModels(json: unknown): string[] | undefined {
  const list = asRecord(json)?.models;
  if (!Array.isArray(list)) return undefined;
  const slugs = list
    .map((m) => asString(asRecord(m)?.slug) ?? asString(m))
    .filter((s): s is string => typeof s === "string" && s !== "");
  return [...new Set(slugs)];
}

/** The models the account may use, from the session cache or the backend. */
export async function discoverModels(
  ctx: RunnerContext,
  tokens: StoredTokens,
  options: ResolvedOptions,
  signal?: AbortSignal,
): Promise<string[]> {
  const cached = readModels(ctx.data);
  const now = options.now();
  if (cached && now - cached.fetchedAt < options.modelsTtlMs && cached.slugs.length > 0) return cached.slugs;
  const url = `${options.backendBaseUrl}/codex/models?client_version=${encodeURIComponent(CLI_VERSION)}`;
  const reply = await request(
    options.fetch,
    url,
    { method: "GET", headers: backendHeaders(tokens, { accept: "application/json" }) },
    options.timeouts.requestMs,
    signal,
  );
  if (reply.status < 200 || reply.status >= 300) throw mapUpstreamReply(reply, now);
  const slugs = parseModels(reply.json);
  if (!slugs || slugs.length === 0) {
    throw new CodexError("UPSTREAM_UNAVAILABLE", "The Codex backend listed no models for this account.");
  }
  writeModels(ctx.data, { slugs, fetchedAt: now });
  return slugs;
}

/** Forget the cached list (the backend refused a model it had listed). */
export function forgetModels(ctx: RunnerContext): void {
  writeModels(ctx.data, undefined);
}

/**
 * The models to try for a run, best first. An explicit model is used alone;
 * without one, the app's preference order (filtered by what the plan allows),
 * else the upstream's first model. No silent fallback beyond the app's list.
 */
export function chooseModels(requested: string | undefined, allowed: string[], preference: string[] | undefined): string[] {
  const usable = preference ? preference.filter((m) => allowed.includes(m)) : allowed;
  if (requested !== undefined) {
    const permitted = allowed.includes(requested) && (!preference || preference.includes(requested));
    const shown = requested.length > 80 ? `${requested.slice(0, 80)}…` : requested;
    if (!permitted) throw notAvailable(`The model "${shown}" is not available for this account.`, usable);
    return [requested];
  }
  if (usable.length === 0) throw notAvailable("None of the app's models is available for this account.", usable);
  return preference ? usable : usable.slice(0, 1);
}

export function notAvailable(message: string, models: string[]): CodexError {
  return new CodexError("MODEL_NOT_AVAILABLE", message, { details: { models } });
}
