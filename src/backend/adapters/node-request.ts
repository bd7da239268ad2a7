import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { IncomingRequest } from "../incoming.js";
import { consumedBody } from "./consumed-body.js";

/** What the Node adapters hand to the Web-standard handler for one request. */
export interface ConvertedRequest {
  request: Request;
  /** The peer address of the socket; never a forwarded header (the handler decides about those). */
  clientIp: string | undefined;
  /**
   * Call once the handler has answered: stops feeding the body to it and
   * discards what is left. True (at once, or once resolved) when the body is
   * still arriving, so the connection should close rather than wait for the rest.
   */
  releaseBody(): boolean | Promise<boolean>;
}

export interface ToWebRequestOptions {
  /** Path and query to use instead of `req.url` (Express: `req.originalUrl`). */
  url?: string;
  /**
   * Another middleware already read the body stream. The body then errors with
   * `bodyError` when the handler reads it, instead of waiting forever.
   */
  bodyConsumed?: boolean;
  bodyError?: () => Error;
}

// A Host header is only used to build the URL when it is a plain host[:port]; the header itself is passed on untouched.
const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Converts a Node request to a Web `Request` whose body streams from the
 * socket (pulled, so a slow reader never buffers the upload) and whose
 * `signal` aborts when the client goes away before the response is finished.
 *
 * @example
 * const { request, clientIp } = toWebRequest(req, res);
 * const response = await handler(request, { clientIp });
 */
export function toWebRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): ConvertedRequest {
  const parts = requestParts(req, res, options);
  const body = parts.body();
  const init: RequestInit & { duplex?: "half" } = { method: parts.method, headers: toHeaders(req.headers) };
  if (body) {
    init.body = body;
    init.duplex = "half"; // required by undici for a streamed request body
  }
  return {
    request: new NodeRequest(requestUrl(req, options.url), init, parts.abort),
    clientIp: req.socket.remoteAddress,
    releaseBody: parts.releaseBody,
  };
}

/** What the Node adapters hand to the contract core for one request: no Web object is built. */
export interface ConvertedIncoming extends Omit<ConvertedRequest, "request"> {
  request: IncomingRequest;
}

/**
 * The light form of {@link toWebRequest}: the same body stream (made only if
 * read), signal and release, read straight from Node's request. Header values
 * are Node's, as a Web Request made from them would hold them.
 *
 * @example
 * const { request, clientIp } = toIncomingRequest(req, res);
 * const reply = await core(request, { clientIp });
 */
export function toIncomingRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): ConvertedIncoming {
  const parts = requestParts(req, res, options);
  return {
    request: new NodeIncoming(req, options.url, parts),
    clientIp: req.socket.remoteAddress,
    releaseBody: parts.releaseBody,
  };
}

/** The body, signal and release of one Node request, shared by both forms. */
interface RequestParts {
  method: string;
  /** The body stream (made on first call), or null for a request without one. */
  body(): ReadableStream<Uint8Array> | null;
  abort: LazyAbort;
  releaseBody(): boolean | Promise<boolean>;
}

function requestParts(req: IncomingMessage, res: ServerResponse, options: ToWebRequestOptions): RequestParts {
  const abort = new LazyAbort();
  // 'close' on the response fires on disconnect and after a normal finish; only the former is an abort.
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });

  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD" && announcesBody(req);
  const state = { finished: false };
  let stream: ReadableStream<Uint8Array> | null = null;
  const body = (): ReadableStream<Uint8Array> | null => {
    if (!hasBody) return null;
    stream ??= options.bodyConsumed ? consumedBody(options.bodyError ?? defaultConsumedError) : streamBody(req, state);
    return stream;
  };
  // Synchronous in the usual cases (no body, or all of it read), so most answers wait for no extra turn.
  const releaseBody = (): boolean | Promise<boolean> => {
    if (!hasBody || options.bodyConsumed || req.readableEnded) return false;
    state.finished = true;
    req.removeAllListeners("data");
    req.resume(); // discard the rest (Node would do the same for an unread body)
    if (req.complete) return false;
    // A handler that answers at once runs before Node parses the rest of the packet: give it one turn.
    return new Promise<boolean>((resolve) => setImmediate(() => resolve(!req.complete)));
  };
  return { method, body, abort, releaseBody };
}

// Characters the URL parser never rewrites in a path: such a path is its own pathname.
const PLAIN_PATH = /^\/[A-Za-z0-9_\-/]*$/;

/** An {@link IncomingRequest} over Node's request; the URL and body are made only if someone reads them. */
class NodeIncoming implements IncomingRequest {
  readonly method: string;
  readonly headers: NodeHeaders;
  readonly pathname: string | undefined;
  readonly #req: IncomingMessage;
  readonly #target: string | undefined;
  readonly #parts: RequestParts;
  #url: string | undefined;

  constructor(req: IncomingMessage, target: string | undefined, parts: RequestParts) {
    this.#req = req;
    this.#target = target;
    this.#parts = parts;
    this.method = parts.method;
    this.headers = new NodeHeaders(req.headers);
    const raw = target ?? req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q === -1 ? raw : raw.slice(0, q);
    this.pathname = PLAIN_PATH.test(path) ? path : undefined;
  }

  get url(): string {
    this.#url ??= requestUrl(this.#req, this.#target);
    return this.#url;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#parts.body();
  }

  get signal(): AbortSignal {
    return this.#parts.abort.signal();
  }
}

/** `headers.get` over Node's header object (repeated values joined with ", ", as Web Headers join them). */
class NodeHeaders {
  readonly #raw: IncomingHttpHeaders;
  constructor(raw: IncomingHttpHeaders) {
    this.#raw = raw;
  }
  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    if (typeof value === "string") return value;
    return Array.isArray(value) ? value.join(", ") : null;
  }
}

/** HTTP/1.1: a request has a body only with Transfer-Encoding or a non-zero Content-Length (RFC 9112 §6.3). */
function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** An abort signal made only if someone asks for it (most requests never do), already aborted if asked late. */
class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.#aborted) this.#controller.abort();
    return this.#controller.signal;
  }
  abort(): void {
    this.#aborted = true;
    this.#controller?.abort();
  }
}

/**
 * A Request whose `signal` is the connection's: cheaper than handing undici a
 * signal to follow (which costs more than the rest of the Request), and lazy.
 */
class NodeRequest extends Request {
  readonly #abort: LazyAbort;
  constructor(url: string, init: RequestInit, abort: LazyAbort) {
    super(url, init);
    this.#abort = abort;
  }
  static {
    Object.defineProperty(this.prototype, "signal", {
      get(this: NodeRequest) {
        return this.#abort.signal();
      },
    });
  }
}

function requestUrl(req: IncomingMessage, pathAndQuery: string | undefined): string {
  const host = req.headers.host;
  const authority = host && PLAIN_HOST.test(host) ? host : "localhost";
  const scheme = (req.socket as Partial<TLSSocket>).encrypted ? "https" : "http";
  let path = pathAndQuery ?? req.url ?? "/";
  if (!path.startsWith("/")) path = `/${path}`; // absolute-form or '*' targets: keep them inside our origin
  // Concatenation, not new URL(path, base): a path like '//evil' must stay a path, never become a host.
  // A Host that looks plain but does not parse (port 99999, 999.1.1.1) is treated as no usable Host.
  for (const candidate of [`${scheme}://${authority}${path}`, `${scheme}://localhost${path}`]) {
    try {
      return new URL(candidate).href;
    } catch {
      // try the next
    }
  }
  return `${scheme}://localhost/`;
}

/** Node's header object as it is when every value is a string (the usual case), else a list of pairs. */
function toHeaders(incoming: IncomingMessage["headers"]): HeadersInit {
  for (const name in incoming) {
    if (typeof incoming[name] !== "string") return toPairs(incoming);
  }
  return incoming as Record<string, string>;
}

function toPairs(incoming: IncomingMessage["headers"]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name in incoming) {
    const value = incoming[name];
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

/** Pull-based: the socket is paused whenever the handler has a chunk it has not read yet. */
function streamBody(req: IncomingMessage, state: { finished: boolean }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // Made only when the handler first reads the body (the fast path builds it lazily): the client may
        // already be gone, and a destroyed request emits nothing more, so say so now rather than wait forever.
        if (req.destroyed && !req.readableEnded) {
          state.finished = true;
          controller.error(new Error("The client went away before the body was read."));
          return;
        }
        req.on("data", (chunk: Buffer) => {
          if (state.finished) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", () => {
          if (state.finished) return;
          state.finished = true;
          controller.close();
        });
        req.once("error", (err) => {
          if (state.finished) return;
          state.finished = true;
          controller.error(err);
        });
        // A close without 'end' (and without 'error', which Node does not always emit) is a cut body.
        req.once("close", () => {
          if (state.finished || req.readableEnded) return;
          state.finished = true;
          controller.error(new Error("The connection closed before the body ended."));
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        // The handler refused the body (e.g. too large): stop here; releaseBody() decides about the rest.
        state.finished = true;
        req.pause();
      },
    },
    { highWaterMark: 1 },
  );
}

function defaultConsumedError(): Error {
  return new Error("The request body was already consumed by another middleware.");
}
