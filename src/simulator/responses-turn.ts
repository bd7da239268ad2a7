/**
 * What the simulated model answers to a Responses request, decided from the
 * request alone (deterministic): a call to a function tool the user's message
 * names, a sentence about a tool's output once it comes back, or the usual
 * answer. Also checks what the Codex backend insists on for a stateless
 * (store: false) conversation: no item references, and reasoning passed back
 * only as the encrypted content this simulator issued.
 */
import { createHmac, randomBytes } from "node:crypto";
import { lastUserText } from "./responses-input.js";

/** One function tool as the request declares it. */
interface FunctionTool {
  name: string;
  parameters: Record<string, unknown>;
}

/** The turn's output besides reasoning. */
export type TurnOutput =
  | { kind: "text"; prompt: string }
  | { kind: "text-of-tool"; text: string }
  | { kind: "call"; name: string; arguments: string; callId: string };

export interface TurnPlan {
  output: TurnOutput;
  /** Present when the request asked for reasoning: its summary, and (when included) its encrypted form. */
  reasoning?: { summary: string; encryptedContent?: string };
}

/** A refusal of the request, as the backend words it. */
export interface TurnRefusal {
  status: number;
  detail: string;
}

// Encrypted reasoning is an HMAC under a key of this process: only what this simulator issued verifies.
const REASONING_KEY = randomBytes(32);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads the request into a plan, or refuses it. */
export function planTurn(json: Record<string, unknown>): TurnPlan | TurnRefusal {
  const input = Array.isArray(json["input"]) ? (json["input"] as unknown[]) : [];
  for (const item of input) {
    if (!isRecord(item)) continue;
    if (item["type"] === "item_reference") {
      return { status: 404, detail: `Item with id '${String(item["id"])}' not found. Items are not persisted when \`store\` is set to false.` };
    }
    if (item["type"] === "reasoning" && !verifies(item["encrypted_content"])) {
      return { status: 400, detail: "The encrypted content of a reasoning item could not be verified." };
    }
  }
  const prompt = lastUserText(json["input"]);
  const reasoning = reasoningOf(json, prompt);
  const outputs = toolOutputsAfterLastUser(input);
  if (outputs.length > 0) {
    const text = outputs.map(({ name, output }) => `The ${name} tool returned: ${output}`).join("\n");
    return { output: { kind: "text-of-tool", text }, ...reasoning };
  }
  const tool = functionTools(json["tools"]).find((candidate) => new RegExp(`\\b${escape(candidate.name)}\\b`).test(prompt));
  if (tool !== undefined) {
    const callId = `call_${randomBytes(8).toString("hex")}`;
    return { output: { kind: "call", name: tool.name, arguments: JSON.stringify(argumentsFor(tool, prompt)), callId }, ...reasoning };
  }
  return { output: { kind: "text", prompt }, ...reasoning };
}

export function isRefusal(plan: TurnPlan | TurnRefusal): plan is TurnRefusal {
  return "status" in plan;
}

function reasoningOf(json: Record<string, unknown>, prompt: string): Pick<TurnPlan, "reasoning"> {
  if (!isRecord(json["reasoning"])) return {};
  const summary = `Thinking about: ${prompt.slice(0, 80)}`;
  const include = Array.isArray(json["include"]) ? json["include"] : [];
  if (!include.includes("reasoning.encrypted_content")) return { reasoning: { summary } };
  const nonce = randomBytes(12).toString("base64url");
  const mac = createHmac("sha256", REASONING_KEY).update(nonce).digest("base64url");
  return { reasoning: { summary, encryptedContent: `sim-reasoning.${nonce}.${mac}` } };
}

function verifies(encrypted: unknown): boolean {
  if (typeof encrypted !== "string") return false;
  const [tag, nonce, mac] = encrypted.split(".");
  if (tag !== "sim-reasoning" || nonce === undefined || mac === undefined) return false;
  return createHmac("sha256", REASONING_KEY).update(nonce).digest("base64url") === mac;
}

/** Function-call outputs after the last user message, each with its call's tool name. */
function toolOutputsAfterLastUser(input: unknown[]): Array<{ name: string; output: string }> {
  let lastUser = -1;
  input.forEach((item, index) => {
    if (isRecord(item) && item["role"] === "user") lastUser = index;
  });
  const names = new Map<string, string>();
  const outputs: Array<{ name: string; output: string }> = [];
  for (const item of input.slice(lastUser + 1)) {
    if (!isRecord(item)) continue;
    if (item["type"] === "function_call" && typeof item["call_id"] === "string") names.set(item["call_id"], String(item["name"]));
    if (item["type"] === "function_call_output" && typeof item["call_id"] === "string") {
      const output = typeof item["output"] === "string" ? item["output"] : JSON.stringify(item["output"]);
      outputs.push({ name: names.get(item["call_id"]) ?? "unknown", output });
    }
  }
  return outputs;
}

function functionTools(tools: unknown): FunctionTool[] {
  if (!Array.isArray(tools)) return [];
  return tools
    .filter(isRecord)
    .filter((tool) => tool["type"] === "function" && typeof tool["name"] === "string")
    .map((tool) => ({ name: tool["name"] as string, parameters: isRecord(tool["parameters"]) ? tool["parameters"] : {} }));
}

/** Arguments from the tool's JSON schema: strings get the user's text, numbers 1, booleans true. */
function argumentsFor(tool: FunctionTool, prompt: string): Record<string, unknown> {
  const properties = isRecord(tool.parameters["properties"]) ? tool.parameters["properties"] : {};
  const args: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = isRecord(schema) ? schema["type"] : undefined;
    if (type === "string") args[name] = prompt;
    else if (type === "number" || type === "integer") args[name] = 1;
    else if (type === "boolean") args[name] = true;
  }
  return args;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
