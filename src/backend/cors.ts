/**
 * CORS for the allowlist only: a listed Origin gets itself back with
 * credentials; any other origin gets no CORS header at all (never `*`, never a
 * reflected unlisted origin). `Vary: Origin` always, so caches keep answers apart.
 *
 * @example
 * applyCors(response.headers, request.headers.get("origin"), allowed);
 */
export function applyCors(headers: Headers, origin: string | null, allowedOrigins: ReadonlySet<string>): void {
  appendVary(headers, "Origin");
  if (origin === null || !allowedOrigins.has(origin)) return;
  headers.set("access-control-allow-origin", origin);
  headers.set("access-control-allow-credentials", "true");
  headers.set("access-control-expose-headers", "retry-after");
}

/** Headers of a successful preflight for a listed origin; the caller checks the origin first. */
export function preflightHeaders(origin: string, allowMethods: readonly string[]): Headers {
  const headers = new Headers({
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": allowMethods.join(", "),
    // The contract only ever needs a JSON content type; nothing else is granted.
    "access-control-allow-headers": "content-type",
    "access-control-max-age": "600",
    "cache-control": "no-store",
  });
  appendVary(headers, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  return headers;
}

function appendVary(headers: Headers, value: string): void {
  const current = headers.get("vary");
  if (current === null) headers.set("vary", value);
  else if (!current.toLowerCase().includes(value.toLowerCase())) headers.set("vary", `${current}, ${value}`);
}
