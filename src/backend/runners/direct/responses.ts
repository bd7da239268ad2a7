/** The request the Codex backend expects for a turn: the CLI's headers and a Responses API body. */
import type { HistoryMessage } from "../../../contract.js";
import { type Cancel, parseJson, readCapped, type UpstreamReply } from "./http.js";
import { CLI_VERSION, type ReasoningEffort, type ResolvedOptions } from "./options.js";
import type { StoredTokens } from "./tokens.js";

/** `originator` and `user-agent` as the CLI sends them; the backend routes on these. */
const ORIGINATOR = "codex_cli_rs";
const USER_AGENT = `codex_cli_rs/${CLI_VERSION} (codex-auth)`;

/** Headers of every backend call. */
export function backendHeaders(tokens: StoredTokens, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tokens.accessToken}`,
    originator: ORIGINATOR,
    "user-agent": USER_AGENT,
    version: CLI_VERSION,
    ...extra,
  };
  if (tokens.accountId) headers["chatgpt-account-id"] = tokens.accountId;
  return headers;
}

export interface TurnInput {
  model: string;
  prompt: string;
  instructions: string;
  history?: HistoryMessage[];
  effort: ReasoningEffort;
  sessionId: string;
}

function message(role: "user" | "assistant", text: string): Record<string, unknown> {
  // The Responses API types assistant turns as output_text, user turns as input_text.
  return { type: "message", role, content: [{ type: role === "user" ? "input_text" : "output_text", text }] };
}

/** The JSON body of `POST /codex/responses`: streamed, never stored upstream. */
export function responsesBody(turn: TurnInput): string {
  const input = [...(turn.history ?? []).map((m) => message(m.role, m.text)), message("user", turn.prompt)];
  return JSON.stringify({
    model: turn.model,
    instructions: turn.instructions,
    input,
    tools: [],
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: turn.effort, summary: "auto" },
    store: false,
    stream: true,
    include: [],
    prompt_cache_key: turn.sessionId,
  });
}

/** A turn ready to send: its JSON body and the conversation it belongs to. */
export interface PreparedTurn {
  body: string;
  sessionId: string;
}

/** A run's turn as the Codex backend wants it. */
export function prepareTurn(turn: TurnInput): PreparedTurn {
  return { body: responsesBody(turn), sessionId: turn.sessionId };
}

/** A successful stream, or the upstream's refusal read in full. */
export type TurnReply = { ok: true; response: Response } | { ok: false; reply: UpstreamReply };

/**
 * POST one turn. Resolves when the headers arrive (within the connect timeout);
 * the caller reads the stream. Throws CodexError on timeout, network failure or abort.
 */
export async function postTurn(
  options: ResolvedOptions,
  tokens: StoredTokens,
  turn: PreparedTurn,
  cancel: Cancel,
): Promise<TurnReply> {
  cancel.arm(options.timeouts.connectMs, "connect");
  try {
    const response = await options.fetch(`${options.backendBaseUrl}/codex/responses`, {
      method: "POST",
      headers: backendHeaders(tokens, {
        "content-type": "application/json",
        accept: "text/event-stream",
        "session-id": turn.sessionId,
      }),
      body: turn.body,
      signal: cancel.signal,
    });
    if (response.ok) return { ok: true, response };
    const text = await readCapped(response.body);
    return { ok: false, reply: { status: response.status, headers: response.headers, text, json: parseJson(text) } };
  } catch (error) {
    throw cancel.failure(error);
  } finally {
    cancel.disarm();
  }
}
