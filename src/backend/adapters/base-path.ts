/**
 * The mount point as the adapters compare paths with it: no trailing slash
 * ("" for the root). Pure, so the edge proxy can use it too.
 *
 * @example
 * trimSlash("/api/codex/") // "/api/codex"
 */
export function trimSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * Whether a request path is the base path or below it ("/api/codexfoo" is not).
 *
 * @example
 * isUnder("/api/codex/status", "/api/codex") // true
 */
export function isUnder(path: string, basePath: string): boolean {
  if (basePath === "") return true;
  return path === basePath || path.startsWith(`${basePath}/`);
}
