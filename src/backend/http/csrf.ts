import { FifoMap } from "../core/fifo-map.js";

/**
 * Decides whether a state-changing request may proceed (CSRF defence, on top
 * of SameSite=Strict). Rules:
 * - `Sec-Fetch-Site: cross-site | same-site` → rejected unless Origin is allowlisted;
 * - `Sec-Fetch-Site: same-origin | none` → allowed;
 * - no `Sec-Fetch-Site` (older browsers, non-browsers) → rejected when Origin is
 *   missing, `null`, or its host differs from Host, unless Origin is allowlisted.
 *
 * @example
 * if (!isCsrfSafe(request, new Set(["https://app.example"]))) return forbidden();
 */
export function isCsrfSafe(request: Request, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null && allowedOrigins.has(origin)) return true;
  const site = request.headers.get("sec-fetch-site");
  if (site !== null) {
    const value = site.trim().toLowerCase();
    return value === "same-origin" || value === "none";
  }
  if (origin === null || origin === "null") return false;
  return sameHost(origin, requestHost(request));
}

const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
// Verdicts for recent (Origin, Host) pairs: a server sees a handful of them, and two URL parses per POST
// cost the node "POST /session (new session each)" bench row about a twentieth of its CPU (0.30× → 0.35× with
// the cookie MAC below; target ≥ 0.35×). Bounded, so odd pairs only push old ones out.
const sameHostMemo = new FifoMap<string, boolean>(256);

/** Origin's host[:port] equals Host, both normalised by the URL parser (so ":443" on https equals no port). */
function sameHost(origin: string, host: string): boolean {
  const key = `${origin}\n${host}`;
  let verdict = sameHostMemo.get(key);
  if (verdict === undefined) {
    verdict = parsedSameHost(origin, host);
    sameHostMemo.set(key, verdict);
  }
  return verdict;
}

function parsedSameHost(origin: string, host: string): boolean {
  if (!HOST.test(host)) return false; // a Host with a path, userinfo or spaces is not a host
  try {
    const parsed = new URL(origin);
    return host !== "" && parsed.host === new URL(`${parsed.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

/** The Host header, or the request URL's host when an adapter did not copy it. */
export function requestHost(request: Request): string {
  const host = request.headers.get("host");
  if (host !== null && host !== "") return host.trim().toLowerCase();
  try {
    return new URL(request.url).host.toLowerCase();
  } catch {
    return "";
  }
}
