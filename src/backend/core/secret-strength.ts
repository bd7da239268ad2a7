/** The shortest cookie secret accepted, in characters. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Throws a clear error when a cookie secret is too short or obviously
 * low-entropy (few distinct characters, a repeated pattern, a run like
 * "abcdefgh…", a template phrase like "change-me"). A heuristic: it catches placeholders, not every weak secret.
 *
 * @example
 * assertStrongSecret(process.env.COOKIE_SECRET ?? ""); // throws on "aaaaaaaaaaaaaaaa"
 */
export function assertStrongSecret(secret: unknown, label = "cookieSecret"): asserts secret is string {
  if (typeof secret !== "string") throw new TypeError(`${label} must be a string`);
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new TypeError(`${label} must be at least ${MIN_SECRET_LENGTH} characters (use 32+ random bytes from the environment)`);
  }
  const problem = weakness(secret);
  if (problem !== null) {
    throw new TypeError(`${label} looks low-entropy (${problem}); use 32+ random bytes, e.g. \`openssl rand -base64 32\``);
  }
}

// Words that mark a value copied from a README or an .env template, not generated.
const PLACEHOLDER = /change[-_ .]?me|your[-_ .]?(cookie[-_ .]?)?secret|placeholder|replace[-_ .]?(this|me)|example|dummy|insecure|not[-_ .]?secure/i;

function weakness(secret: string): string | null {
  if (PLACEHOLDER.test(secret)) return "a placeholder phrase";
  const chars = Array.from(secret);
  if (new Set(chars).size < 6) return "too few distinct characters";
  if (hasShortPeriod(chars)) return "a repeated pattern";
  if (isMostlyRun(chars)) return "a sequential run of characters";
  return null;
}

// "abcabcabc…": the whole string repeats a unit of at most half its length.
function hasShortPeriod(chars: string[]): boolean {
  for (let period = 1; period <= chars.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < chars.length; i++) {
      if (chars[i] !== chars[i - period]) {
        repeats = false;
        break;
      }
    }
    if (repeats) return true;
  }
  return false;
}

// "abcdefghijklmnop", "0123456789…": most neighbours differ by exactly +1 or -1.
function isMostlyRun(chars: string[]): boolean {
  let steps = 0;
  for (let i = 1; i < chars.length; i++) {
    const delta = (chars[i]?.codePointAt(0) ?? 0) - (chars[i - 1]?.codePointAt(0) ?? 0);
    if (delta === 1 || delta === -1) steps++;
  }
  return steps >= (chars.length - 1) * 0.75;
}
