// Characters that can never form a dot segment or be rewritten by a URL parser: the common case, decided without one.
const PLAIN_PATH = /^\/[A-Za-z0-9_\-/]*$/;

/**
 * Whether a raw request path (no query) is already canonical: what a URL
 * parser makes of it is the path itself. Dot segments (`/x/../`, `/./`, and
 * their `%2e` spellings), backslashes, tabs and fragments are all resolved or
 * dropped by a parser, so a guard of the app's that matched the raw text
 * (`app.use("/api/codex/login", requireAuth)`) would be stepped around by a
 * path the handler resolves; such paths are refused instead.
 *
 * @example
 * isCanonicalPath("/api/codex/status") // true
 * isCanonicalPath("/api/codex/x/../status") // false
 */
export function isCanonicalPath(path: string): boolean {
  if (PLAIN_PATH.test(path)) return true;
  if (!path.startsWith("/")) return false; // absolute-form or '*' targets
  try {
    // Concatenated, not new URL(path, base): '//x' must stay a path here too.
    return new URL(`http://h${path}`).pathname === path && !/%2e|%2f|%5c/i.test(path);
  } catch {
    return false;
  }
}

/** The path of a request target (`/a/b?q=1` → `/a/b`). */
export function pathOfTarget(target: string): string {
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}
