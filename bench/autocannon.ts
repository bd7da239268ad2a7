/**
 * autocannon, loaded and typed for the server benches (bench/server.bench.ts,
 * bench/redis.bench.ts): the package ships CommonJS and no types of its own.
 */
import { createRequire } from "node:module";

interface AutocannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

/** One route to load: a same-origin browser request, signed in when `cookie` is set. */
export interface LoadTarget {
  method: "GET" | "POST";
  path: string;
  cookie?: string;
}

/**
 * Loads `baseUrl + route.path` with 10 connections for `seconds`; any non-2xx
 * answer or error throws (named by `label`), so a figure always measures the route it names.
 */
export async function loadRoute(baseUrl: string, route: LoadTarget, seconds: number, label: string): Promise<{ rate: number; requests: number }> {
  const headers: Record<string, string> = { origin: baseUrl, "content-type": "application/json" };
  if (route.cookie) headers.cookie = route.cookie;
  const result = await autocannon({ url: baseUrl + route.path, method: route.method, headers, connections: 10, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx, ${result.errors} errors — not measuring what it says`);
  }
  return { rate: result.requests.average, requests: result.requests.total };
}
