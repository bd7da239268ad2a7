/**
 * Narrowing of parsed JSON (`unknown`) one field at a time: each answers
 * `undefined` for anything that is not what it names. No `node:` import, so
 * the runners that use it stay usable on fetch runtimes.
 *
 * @example
 * const body = asRecord(JSON.parse(text)) ?? {};
 * const code = asString(body.code); // string | undefined
 */

/** A JSON object (not null, not an array). */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A finite number, or a string that spells one (upstreams and headers send both). */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
