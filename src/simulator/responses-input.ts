/** Reading the Responses API request body: the prompt text and a token estimate. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter(isRecord)
    .filter((part) => part["type"] === "input_text" && typeof part["text"] === "string")
    .map((part) => part["text"] as string)
    .join("\n");
}

/** The text of the last user message in `input` (a string input counts as one). */
export function lastUserText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  for (let i = input.length - 1; i >= 0; i--) {
    const item: unknown = input[i];
    if (isRecord(item) && (item["type"] === "message" || item["type"] === undefined) && item["role"] === "user") {
      return textOf(item["content"]);
    }
  }
  return "";
}

/** A deterministic stand-in for a tokenizer: about four characters per token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The answer cut into several deltas at word boundaries (deterministic). */
export function splitDeltas(answer: string): string[] {
  return answer.match(/\s*\S+\s*/g) ?? (answer ? [answer] : []);
}
