/**
 * A Responses API request built elsewhere (codex-auth/ai: the AI SDK's OpenAI
 * provider), sent on the session's account the way a run's turn is sent: fresh
 * tokens (a 401 refreshes once), the CLI's headers, retries on 5xx, and a body
 * narrowed to what the Codex backend takes from the CLI.
 */
import { CodexError } from "../../core/errors.js";
import { asRecord } from "../../core/json.js";
import type { RunnerContext } from "../types.js";
import { mapUpstreamReply } from "./errors.js";
import { Cancel } from "./http.js";
import type { ResolvedOptions } from "./options.js";
import type { Refresher } from "./refresh.js";
import { freshAuth, openTurn } from "./turn.js";
import { conversationId } from "./session-data.js";

/**
 * The fields the CLI sends in a turn (upstream-protocol.md), plus `text` for
 * structured output. Anything else the AI SDK may add (max_output_tokens,
 * temperature, previous_response_id, metadata…) is left out rather than risk
 * the backend refusing a turn for a parameter its own client never sends.
 */
const FORWARDED = new Set([
  "model",
  "instructions",
  "input",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning",
  "include",
  "prompt_cache_key",
  "text",
]);

/** Sends `body` upstream; resolves with the event stream once its headers arrive. Throws CodexError. */
export async function sendResponses(
  opts: ResolvedOptions,
  refresher: Refresher,
  ctx: RunnerContext,
  body: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Response> {
  const cancel = new Cancel(signal);
  try {
    const { auth, recover } = await freshAuth(refresher, ctx);
    const sessionId = conversationId(ctx.data, opts.randomId);
    const turn = { body: JSON.stringify(codexBody(body, sessionId, opts.instructions)), sessionId };
    const outcome = await openTurn(opts, auth, turn, cancel, signal, recover);
    if (!outcome.ok) throw mapUpstreamReply(outcome.reply, opts.now());
    if (outcome.response.body === null) throw new CodexError("RUN_FAILED", "The answer stream was empty.");
    // Still following `signal`: the caller's abort reaches the upstream stream while it is read.
    cancel.disarm();
    return outcome.response;
  } catch (error) {
    cancel.controller.abort();
    cancel.dispose();
    throw cancel.failure(error);
  }
}

/**
 * The body the Codex backend takes, shaped as the CLI sends it: streamed,
 * never stored, system messages as `developer` messages (the CLI's own role
 * for them), the session's conversation as the cache key, and `instructions`
 * always present (the runner's default when the app gave none), as the
 * runner's own turns send them.
 */
export function codexBody(body: Record<string, unknown>, sessionId: string, defaultInstructions: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (FORWARDED.has(key)) out[key] = value;
  const input = Array.isArray(body.input) ? body.input : [];
  out.input = input.map((item) => {
    const record = asRecord(item);
    return record !== undefined && record.role === "system" ? { ...record, role: "developer" } : item;
  });
  if (typeof out.instructions !== "string" || out.instructions === "") out.instructions = defaultInstructions;
  out.store = false;
  out.stream = true;
  out.prompt_cache_key ??= sessionId;
  return out;
}
