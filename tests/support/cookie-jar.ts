/**
 * The one-cookie jar of the tests' browser stand-ins (direct-harness.ts's
 * Client, process-fleet.ts's FleetClient): what the browser holds after a
 * response. A Set-Cookie replaces the cookie; one that clears it (empty value
 * or Max-Age=0) empties the jar; no Set-Cookie keeps it.
 */
export function cookieAfter(response: Response, cookie: string | undefined): string | undefined {
  const setCookie = response.headers.get("set-cookie");
  if (!setCookie) return cookie;
  const pair = setCookie.split(";")[0] ?? "";
  return /=$/.test(pair) || /max-age=0/i.test(setCookie) ? undefined : pair;
}
