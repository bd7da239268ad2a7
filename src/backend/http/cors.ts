/**
 * CORS for the allowlist only: a listed Origin gets itself back with
 * credentials; any other origin gets no CORS header at all (never `*`, never a
 * reflected unlisted origin). `Vary: Origin` always, so caches keep answers apart.
 * Works on a reply's plain header record (lower-case names).
 *
 * @example
 * applyCors(reply.headers, request.headers.get("origin"), allowed);
 */
export function applyCors(headers: Record<string, string>, origin: string | null, allowedOrigins: ReadonlySet<string>): void {
  appendVary(headers, "Origin");
  if (origin === null || !allowedOrigins.has(origin)) return;
  headers["access-control-allow-origin"] = origin;
  headers["access-control-allow-credentials"] = "true";
  headers["access-control-expose-headers"] = "retry-after";
}

/** Headers of a successful preflight for a listed origin; the caller checks the origin first. */
export function preflightHeaders(origin: string, allowMethods: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": allowMethods.join(", "),
    // The contract only ever needs a JSON content type; nothing else is granted.
    "access-control-allow-headers": "content-type",
    "access-control-max-age": "600",
    "cache-control": "no-store",
  };
  appendVary(headers, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return headers;
}

function appendVary(headers: Record<string, string>, value: string): void {
  const current = headers.vary;
  if (current === undefined) headers.vary = value;
  else if (!current.toLowerCase().includes(value.toLowerCase())) headers.vary = `${current}, ${value}`;
}
