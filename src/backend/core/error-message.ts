/**
 * The message of a thrown value, for a log line: an Error's message, anything
 * else as text.
 *
 * @example
 * log.warn("runner.logout failed", { error: errorMessage(error) });
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
