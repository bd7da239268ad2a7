/**
 * Removes credential- and host-revealing patterns from text that is about to
 * leave the backend (error messages, log lines, a CLI's stderr): JWTs, bearer
 * and basic credentials, `key=value` secrets, API keys, long opaque tokens and
 * absolute file-system paths. Over-redacts on purpose: it only sees error text.
 *
 * @example
 * redact("401 for Bearer eyJhbGciOi.eyJzdWIi.sig at /home/ann/.codex/auth.json")
 * // → "401 for Bearer [redacted] at [path]"
 */
export function redact(text: string): string {
  let out = String(text);
  for (const [pattern, replacement] of RULES) {
    out = typeof replacement === "string" ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

type Replacer = (match: string, ...groups: string[]) => string;
type Rule = readonly [RegExp, string | Replacer];

const RULES: readonly Rule[] = [
  // Authorization header values first, so the credential after the scheme goes as one piece.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/gi, (_m, scheme: string) => `${scheme} [redacted]`],
  // JSON Web Tokens (access and id tokens): three base64url parts, the first a JSON header.
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*/g, "[redacted-jwt]"],
  // key=value / "key": "value" pairs whose key names a secret.
  [
    /((?:access|refresh|id|auth|session|bearer)[_-]?token|api[_-]?key|apikey|client[_-]?secret|password|passwd|secret|authorization|cookie|code[_-]?verifier|device[_-]?auth[_-]?id|expires[_-]?at|expiry)(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)/gi,
    (_m, key: string, sep: string) => `${key}${sep}[redacted]`,
  ],
  // Provider API keys (sk-…, sess-…, rt_…, ghp_…).
  [/\b(?:sk|sess|rt|pk|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{8,}/g, "[redacted-key]"],
  // Absolute paths that reveal a user or host layout (POSIX and Windows).
  [/(?:~|\/(?:home|Users|root|tmp|var|private|opt|srv|etc|usr|mnt|run|app|workspace|work))(?:\/[^\s"'`:;,)]*)+/g, "[path]"],
  [/\b[A-Za-z]:\\(?:[^\s"'`:;,)\\]+\\?)+/g, "[path]"],
  // Any remaining long opaque run (hex digests, base64url secrets, session ids).
  [/[A-Za-z0-9_+/=-]{32,}/g, (match: string) => (/[0-9]/.test(match) && /[A-Za-z]/.test(match) ? "[redacted]" : match)],
];
