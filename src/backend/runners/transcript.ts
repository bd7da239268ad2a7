import type { RunOptions } from "./types.js";

/**
 * For a runner whose upstream takes one prompt (`codex exec`, a new app-server
 * thread): earlier turns the run policy allowed go in front of it as a transcript.
 */
export function withHistory(prompt: string, options: RunOptions): string {
  if (!options.history || options.history.length === 0) return prompt;
  const transcript = options.history.map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${m.text}`).join("\n\n");
  return `Earlier in this conversation:\n\n${transcript}\n\nThe user's new message:\n\n${prompt}`;
}

