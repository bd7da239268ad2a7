import type { HistoryMessage } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import type { RunPolicy } from "../../core/options.js";
import type { RunOptions } from "../../runners/types.js";

const KNOWN_FIELDS = new Set(["prompt", "model", "instructions", "history"]);
const MAX_MODEL_NAME = 100;

/** A run request that passed validation against the server's run policy. */
export interface ValidRunRequest {
  prompt: string;
  options: RunOptions;
}

/**
 * Validates a parsed `/run/stream` body: `prompt` a non-empty string within
 * the limit (413 PROMPT_TOO_LONG), and every other field allowed by the run
 * policy (400 BAD_REQUEST otherwise). Unknown fields are refused, not ignored.
 */
export function validateRunRequest(body: Record<string, unknown>, policy: RunPolicy, maxPromptChars: number): ValidRunRequest {
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) throw bad(`Unknown field "${key.slice(0, 40)}".`);
  }
  const { prompt } = body;
  if (typeof prompt !== "string" || prompt.trim() === "") throw bad("`prompt` must be a non-empty string.");
  if (prompt.length > maxPromptChars) throw new CodexError("PROMPT_TOO_LONG", `The prompt is longer than ${maxPromptChars} characters.`);

  const options: RunOptions = {};
  if (body.model !== undefined) options.model = validateModel(body.model, policy.models);
  if (body.instructions !== undefined) {
    if (policy.instructions !== true) throw bad("This server does not accept `instructions`.");
    if (typeof body.instructions !== "string") throw bad("`instructions` must be a string.");
    if (body.instructions.length > maxPromptChars) throw new CodexError("PROMPT_TOO_LONG", "The instructions are too long.");
    options.instructions = body.instructions;
  }
  if (body.history !== undefined) options.history = validateHistory(body.history, policy.history, maxPromptChars);
  return { prompt, options };
}

function validateModel(model: unknown, allowed: RunPolicy["models"]): string {
  if (allowed === undefined || allowed === false) throw bad("This server does not accept `model`.");
  if (typeof model !== "string" || model === "" || model.length > MAX_MODEL_NAME || !/^[A-Za-z0-9._:-]+$/.test(model)) {
    throw bad("`model` must be a model name.");
  }
  if (allowed !== true && !allowed.includes(model)) throw bad("This model is not allowed here.");
  return model;
}

function validateHistory(history: unknown, allowed: RunPolicy["history"], maxChars: number): HistoryMessage[] {
  if (allowed === undefined || allowed === false) throw bad("This server does not accept `history`.");
  const maxMessages = allowed === true ? 50 : allowed.maxMessages;
  if (!Array.isArray(history)) throw bad("`history` must be an array.");
  if (history.length > maxMessages) throw bad(`\`history\` may hold at most ${maxMessages} messages.`);
  let total = 0;
  return history.map((item: unknown) => {
    if (item === null || typeof item !== "object") throw bad("Each history message must be an object.");
    const { role, text } = item as Record<string, unknown>;
    if ((role !== "user" && role !== "assistant") || typeof text !== "string") {
      throw bad('Each history message needs `role` ("user" | "assistant") and `text`.');
    }
    total += text.length;
    if (total > maxChars) throw new CodexError("PROMPT_TOO_LONG", "The history is too long.");
    return { role, text };
  });
}

function bad(message: string): CodexError {
  return new CodexError("BAD_REQUEST", message);
}
