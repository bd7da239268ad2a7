import { DEFAULT_BASE_PATH, type ErrorBody } from "../../contract.js";
import { isUnder, trimSlash } from "./base-path.js";

/** Options of {@link createCodexProxy}. */
export interface CodexProxyOptions {
  /**
   * The backend's origin, e.g. `"https://api.internal.example"`: where the codex
   * handler runs. `http:` only for loopback, private addresses and internal
   * names (the hop carries the session cookie).
   */
  backend: string;
  /** The contract's mount point, as on the backend. Default `"/api/codex"`. Only paths under it are forwarded. */
  basePath?: string;
  /**
   * The client's IP as the edge knows it, appended to X-Forwarded-For, e.g.
   * `(request) => request.headers.get("cf-connecting-ip")`. Default: none, and
   * X-Forwarded-For passes unchanged. A value that is not an IP is sent as
   * `unknown`, so that the client can never choose the entry the backend trusts.
   */
  clientIp?: (request: Request) => string | null | undefined;
  /** The fetch to reach the backend (a service binding's, or a test's). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** How long to wait for the backend's response headers, in ms. Default 30 000; then 504 UPSTREAM_TIMEOUT. */
  timeoutMs?: number;
  /**
   * The largest request body forwarded, in bytes. Default 64 KiB, the handler's
   * default `limits.maxBodyBytes`: keep the two equal. A larger declared
   * Content-Length gets 413 BODY_TOO_LARGE before anything is read or sent; a
   * body that streams past it is cut (413 if the backend has not answered yet).
   */
  maxBodyBytes?: number;
  /**
   * How long a request body may take to arrive, in ms. Default 10 000, the
   * handler's default `limits.bodyTimeoutMs`: keep the two equal. A body still
   * arriving then is cut (408 BODY_TIMEOUT if the backend has not answered yet);
   * a runtime's fetch may send nothing to the backend before the first byte.
   */
  bodyTimeoutMs?: number;
}

/** A proxy: the backend's answer for a contract path, `undefined` for any other path. */
export type CodexProxy = (request: Request) => Promise<Response | undefined>;

/** The codes the proxy answers with itself, all of them the contract's `ServerErrorCode`s. */
export type CodexProxyErrorCode = Extract<
  ErrorBody["code"],
  "BAD_REQUEST" | "BODY_TOO_LARGE" | "BODY_TIMEOUT" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "UPSTREAM_UNAVAILABLE" | "UPSTREAM_TIMEOUT"
>;

/** The contract's methods (no HEAD: the handler refuses it too); anything else is answered 405 here. */
const METHODS = new Set(["GET", "POST", "OPTIONS"]);
const ALLOW = [...METHODS].join(", ");

/**
 * The contract on a Web-standard fetch runtime (Cloudflare Workers, Deno
 * Deploy, Vercel Edge, Bun) whose handler stays on your Node backend: requests
 * under the base path are forwarded there, bodies streamed both ways, and the
 * answer comes back as the backend gave it (every Set-Cookie, redirects not
 * followed). Cookies, CSRF, CORS and rate limits are the backend handler's; the
 * proxy answers only what it must not forward, so a client's mistake never
 * reads as an outage: a non-canonical path (404), a method outside GET, POST
 * and OPTIONS (405), a malformed (400), too large (413) or too slow (408) body. Set the
 * backend's `trustProxy` to the number of proxies in front of it (1 for this
 * one alone) and give `clientIp`.
 *
 * @example
 * const proxy = createCodexProxy({
 *   backend: "https://codex.internal.example",
 *   clientIp: (request) => request.headers.get("cf-connecting-ip"),
 * });
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     return (await proxy(request)) ?? new Response("Not found", { status: 404 });
 *   },
 * };
 */
export function createCodexProxy(options: CodexProxyOptions): CodexProxy {
  const backend = backendOrigin(options.backend);
  const basePath = basePathOf(options.basePath ?? DEFAULT_BASE_PATH);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError("createCodexProxy: `timeoutMs` must be a positive number");
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  if (!(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) throw new TypeError("createCodexProxy: `maxBodyBytes` must be a positive integer");
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  if (!(Number.isFinite(bodyTimeoutMs) && bodyTimeoutMs > 0)) throw new TypeError("createCodexProxy: `bodyTimeoutMs` must be a positive number");
  const clientIp = options.clientIp;
  const fetchBackend = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  return async (request) => {
    const incoming = new URL(request.url);
    // The parsed pathname has its dot segments (also %2e) resolved already: "/api/codex/../x" is "/x".
    if (!isUnder(incoming.pathname, basePath)) return undefined;
    const refused = refusal(request, incoming.pathname.slice(basePath.length), maxBodyBytes);
    if (refused !== undefined) return refused;
    // Only path and query are taken from the request, set on a URL of the backend's: no input can change its origin.
    const target = new URL(backend);
    target.pathname = incoming.pathname;
    target.search = incoming.search;
    if (target.origin !== backend) throw new Error("createCodexProxy: the target left the backend origin"); // unreachable: a guard

    const headers = withoutHopByHop(request.headers, REQUEST_DROP);
    if (clientIp !== undefined) {
      const previous = headers.get("x-forwarded-for");
      const ip = plainIp(clientIp(request));
      headers.set("x-forwarded-for", previous ? `${previous}, ${ip}` : ip);
    }
    headers.set("x-forwarded-host", incoming.host);
    headers.set("x-forwarded-proto", incoming.protocol.slice(0, -1));
    // A runtime's fetch decodes a compressed body but keeps Content-Encoding: ask the backend for none.
    headers.set("accept-encoding", "identity");

    const abort = new AbortController();
    const signal = request.signal as AbortSignal | undefined; // some runtimes never abort it, a few lack it
    const onClientGone = () => abort.abort(signal?.reason);
    if (signal?.aborted) onClientGone();
    else signal?.addEventListener("abort", onClientGone, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(new Error("The backend did not answer in time."));
    }, timeoutMs);

    let answered = false;
    let refusedBody: BodyRefusal | undefined;
    const upload = request.method === "GET" ? null : request.body;
    if (upload === null) headers.delete("content-length"); // no body goes with it
    const init: RequestInit & { duplex?: "half" } = {
      method: request.method,
      headers,
      redirect: "manual", // a backend redirect goes to the browser as it is, never followed here
      signal: abort.signal,
    };
    if (upload !== null) {
      init.body = bounded(upload, { maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs, signal: abort.signal }, (refusal) => {
        refusedBody = refusal;
        if (!answered) abort.abort(new Error("The request body was refused."));
      });
      init.duplex = "half"; // stream the upload rather than buffer it
    }

    let upstream: Response;
    try {
      upstream = await fetchBackend(target.href, init);
      answered = true;
    } catch {
      if (refusedBody === "BODY_TOO_LARGE") return tooLarge(maxBodyBytes);
      if (refusedBody === "BODY_TIMEOUT") return proxyError(408, "BODY_TIMEOUT", `The request body did not arrive within ${bodyTimeoutMs} ms.`);
      return timedOut
        ? proxyError(504, "UPSTREAM_TIMEOUT", "The backend did not answer in time.")
        : proxyError(502, "UPSTREAM_UNAVAILABLE", "The backend is unreachable.");
    } finally {
      clearTimeout(timer); // the timeout covers the headers only: a run streams for as long as it runs
    }

    const responseHeaders = withoutHopByHop(upstream.headers, RESPONSE_DROP);
    for (const cookie of upstream.headers.getSetCookie()) responseHeaders.append("set-cookie", cookie);
    let body = upstream.body;
    if (body !== null && NULL_BODY_STATUS.has(upstream.status)) {
      await body.cancel().catch(() => undefined);
      body = null;
    }
    return new Response(body && relay(body, abort.signal), { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  };
}

/**
 * The backend's body, pulled only as the client reads (no buffering). Once the
 * client has left, the upstream error our abort causes ends the stream quietly
 * (a server may hold a read it no longer awaits); any other failure mid-stream
 * errors it, so the client sees a cut answer rather than a complete one.
 */
function relay(upstream: ReadableStream<Uint8Array>, aborted: AbortSignal): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          if (aborted.aborted) controller.close();
          else controller.error(error);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The proxy's own answer to a request it must not forward (`rest` is the path
 * below the base path), or `undefined`: a client's mistake is a 4xx from here,
 * never a 5xx from a backend hop that broke on it.
 */
function refusal(request: Request, rest: string, maxBodyBytes: number): Response | undefined {
  if (!isCanonical(rest)) return proxyError(404, "NOT_FOUND", "Not found.");
  if (!METHODS.has(request.method)) return proxyError(405, "METHOD_NOT_ALLOWED", `Use ${ALLOW}.`, { allow: ALLOW });
  const declared = request.headers.get("content-length");
  if (declared === null) return undefined;
  // One plain decimal number: a runtime's fetch refuses anything else, and the backend would frame it differently.
  if (!/^\d+$/.test(declared)) return proxyError(400, "BAD_REQUEST", "The Content-Length header is malformed.");
  return Number(declared) > maxBodyBytes ? tooLarge(maxBodyBytes) : undefined; // refused unread, the backend never asked
}

type BodyRefusal = "BODY_TOO_LARGE" | "BODY_TIMEOUT";

/**
 * The upload, counted and timed on its way: past `maxBytes`, or still arriving
 * after `timeoutMs`, it errors (the backend sees a cut request) and calls
 * `onRefused` first. The timer stops when the upload ends or the hop is aborted.
 */
function bounded(
  body: ReadableStream<Uint8Array>,
  limits: { maxBytes: number; timeoutMs: number; signal: AbortSignal },
  onRefused: (refusal: BodyRefusal) => void,
): ReadableStream<Uint8Array> {
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => clearTimeout(timer);
  limits.signal.addEventListener("abort", stop, { once: true });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        timer = setTimeout(() => {
          onRefused("BODY_TIMEOUT");
          controller.error(new Error("The request body was too slow."));
        }, limits.timeoutMs);
      },
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total <= limits.maxBytes) return controller.enqueue(chunk);
        stop();
        onRefused("BODY_TOO_LARGE");
        controller.error(new Error("The request body is too large."));
      },
      flush: stop,
    }),
  );
}

/**
 * A path below the base path in its one canonical spelling. The URL parser has
 * already resolved dot segments (also `%2e`) and turned `\` into `/`; what
 * remains could still name another route to a backend that decodes or merges
 * differently: empty segments and encoded dots, slashes and backslashes.
 */
function isCanonical(rest: string): boolean {
  return !rest.includes("//") && !rest.includes("\\") && !/%(2e|2f|5c)/i.test(rest);
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones every proxy drops or replaces. */
const HOP_BY_HOP = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"];
// Host is the backend's; Expect was answered at the edge (and undici refuses it); the X-Forwarded-* are set anew.
const REQUEST_DROP = new Set([...HOP_BY_HOP, "host", "expect", "x-forwarded-host", "x-forwarded-proto"]);
// Set-Cookie is copied apart, value by value (iterating Headers may join them).
const RESPONSE_DROP = new Set([...HOP_BY_HOP, "set-cookie"]);
const NULL_BODY_STATUS = new Set([204, 205, 304]);

/** A copy of `headers` without hop-by-hop ones: the fixed list, `proxy-*`, and any named in Connection. */
function withoutHopByHop(headers: Headers, drop: ReadonlySet<string>): Headers {
  const named = new Set(
    (headers.get("connection") ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ""),
  );
  const out = new Headers();
  headers.forEach((value, name) => {
    if (drop.has(name) || named.has(name) || name.startsWith("proxy-")) return;
    out.append(name, value);
  });
  return out;
}

/** An IPv4 or IPv6 address as written in X-Forwarded-For; anything else (a list, a name, nothing) is `unknown`. */
function plainIp(value: string | null | undefined): string {
  const ip = value?.trim() ?? "";
  return /^[0-9A-Fa-f.:]{2,45}$/.test(ip) ? ip : "unknown";
}

function tooLarge(maxBytes: number): Response {
  return proxyError(413, "BODY_TOO_LARGE", `The request body is larger than ${maxBytes} bytes.`);
}

/** The proxy's own answer: JSON with a stable code, never stored, never a detail of the backend. */
function proxyError(status: 400 | 404 | 405 | 408 | 413 | 502 | 504, code: CodexProxyErrorCode, error: string, extra: Record<string, string> = {}): Response {
  const body: ErrorBody = { ok: false, code, error };
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...extra, "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function basePathOf(path: string): string {
  if (!path.startsWith("/") || /[?#]/.test(path)) throw new TypeError("createCodexProxy: `basePath` must be a path such as /api/codex");
  return trimSlash(path);
}

/** The backend option as an origin; `http:` only where the hop cannot cross the public internet. */
function backendOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`createCodexProxy: \`backend\` is not a URL: ${value}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("createCodexProxy: `backend` must be an http(s) origin");
  if (url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new TypeError(`createCodexProxy: \`backend\` must be exactly scheme://host[:port]: ${value}`);
  }
  if (url.protocol === "http:" && !isPrivateHost(url.hostname)) {
    throw new TypeError("createCodexProxy: an http: `backend` must be a loopback, private or internal host; use https");
  }
  return url.origin;
}

/** Loopback, RFC 1918, link-local and ULA addresses, localhost, single-label and .internal/.local names. */
function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host.startsWith("[")) return /^\[(::1|f[cd][0-9a-f]{0,2}:.*|fe[89ab][0-9a-f]?:.*)\]$/.test(host);
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  return !host.includes(".") || /\.(localhost|internal|local|home\.arpa)$/.test(host);
}
