/**
 * The shapes of the hostile corpus: a raw request, the answer expected from
 * every adapter, and the adapters allowed to answer otherwise (each with why).
 * Builders here keep the rows in corpus.ts one readable line each.
 */
import type { Delivery } from "./raw-client.js";

export type AdapterName = "node" | "express5" | "express4" | "hono" | "fastify" | "next" | "worker";

export type Header = readonly [name: string, value: string];

/**
 * One request as it goes on the wire. Header values and the target may hold
 * placeholders filled in per adapter and per row: `{host}` (127.0.0.1:port),
 * `{origin}` (http://{host}), `{cookie}` (name=value of a fresh signed-in
 * session), `{id}` and `{sig}` (the two halves of its value), `{anon}`
 * (name=value of a fresh session that is not signed in). A header whose
 * value is `{none}` is not sent at all (and stops the default one being added).
 */
export interface HostileRequest {
  method: string;
  target: string;
  /** In order, repeats kept. Host and Connection: close are added unless present. */
  headers: readonly Header[];
  body: Buffer;
  delivery: Delivery;
  /** Content-Length from the body is added unless the headers set a length or a transfer coding, or this is false. */
  autoLength: boolean;
}

/** What an adapter answers to a row. */
export type Expected =
  /** A contract answer: this status, JSON; `code` when it is an error, `body` fields when given. */
  | { kind: "json"; status: number; code?: string; body?: Record<string, unknown> }
  /** 200 NDJSON run stream ending in a `done` event. */
  | { kind: "stream" }
  /** A status with no body (204, or any answer to HEAD). */
  | { kind: "empty"; status: number }
  /** node:http's own parser answers before any adapter runs (the same server code under every adapter). */
  | { kind: "node-refuses"; status: number }
  /** node:http closes the connection without an answer (no adapter is ever called). */
  | { kind: "node-closes" }
  /**
   * Not the contract's to answer (the target is outside the base path, or not a
   * path at all): adapters mounted in an app leave it to the app, whose own 404
   * comes back; the Node listener and the Next catch-all, given every path here,
   * answer 404 NOT_FOUND.
   */
  | { kind: "left-to-app" };

/** An adapter that legitimately answers otherwise, and the one-line reason. */
export interface Difference {
  expect: Expected;
  why: string;
}

export interface CorpusRow {
  name: string;
  request: HostileRequest;
  expect: Expected;
  differs?: Partial<Record<AdapterName, Difference>>;
}

export const API = "/api/codex";
export const LISTED_ORIGIN = "https://app.example";
export const FOREIGN_ORIGIN = "https://evil.example";
export const COOKIE_NAME = "__Host-codex_sid";

// Headers rows use again and again.
export const SIGNED_IN: Header = ["cookie", "{cookie}"];
export const LISTED: Header = ["origin", LISTED_ORIGIN];
export const JSON_TYPE: Header = ["content-type", "application/json"];

/** A request exactly as given (plus Host and Connection: close when absent). */
export function request(
  method: string,
  target: string,
  headers: readonly Header[] = [],
  body: string | Buffer = "",
  delivery: Delivery = { kind: "whole" },
  autoLength = true,
): HostileRequest {
  return { method, target, headers, body: typeof body === "string" ? Buffer.from(body, "utf8") : body, delivery, autoLength };
}

/** GET under the API with a signed-in session unless other headers are given. */
export function get(path: string, headers: readonly Header[] = [SIGNED_IN]): HostileRequest {
  return request("GET", API + path, headers);
}

/** POST under the API from the listed origin, with these extra headers (same names replace the defaults). */
export function post(path: string, headers: readonly Header[] = [], body: string | Buffer = "", delivery?: Delivery): HostileRequest {
  return request("POST", API + path, merged([LISTED], headers), body, delivery);
}

/** POST /run/stream signed in, from the listed origin, as JSON; extra headers replace same-named defaults. */
export function run(body: string | Buffer, headers: readonly Header[] = [], delivery?: Delivery): HostileRequest {
  return request("POST", `${API}/run/stream`, merged([SIGNED_IN, LISTED, JSON_TYPE], headers), body, delivery);
}

/** A body in chunked transfer coding, in pieces of `size` bytes (send it with Transfer-Encoding: chunked). */
export function chunked(body: string, size = 16 * 1024): Buffer {
  const bytes = Buffer.from(body, "utf8");
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    const piece = bytes.subarray(offset, offset + size);
    pieces.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(pieces);
}

/** A run request body with this prompt. */
export function prompt(text: string): string {
  return JSON.stringify({ prompt: text });
}

function merged(defaults: readonly Header[], extra: readonly Header[]): Header[] {
  const replaced = new Set(extra.map(([name]) => name.toLowerCase()));
  return [...defaults.filter(([name]) => !replaced.has(name.toLowerCase())), ...extra];
}

// Expected answers, spelled as the rows read them.
export const ok = (body: Record<string, unknown>, status = 200): Expected => ({ kind: "json", status, body });
export const refused = (status: number, code: string): Expected => ({ kind: "json", status, code });
export const streamed: Expected = { kind: "stream" };
export const empty = (status: number): Expected => ({ kind: "empty", status });
export const nodeRefuses = (status: number): Expected => ({ kind: "node-refuses", status });
export const nodeCloses: Expected = { kind: "node-closes" };
export const leftToApp: Expected = { kind: "left-to-app" };

export const NOT_FOUND = refused(404, "NOT_FOUND");
export const NO_SESSION = refused(401, "NO_SESSION");
export const BAD_JSON = refused(400, "BAD_JSON");
export const BAD_REQUEST = refused(400, "BAD_REQUEST");
export const CSRF = refused(403, "CSRF_REJECTED");
export const WRONG_METHOD = refused(405, "METHOD_NOT_ALLOWED");
export const UNSUPPORTED = refused(415, "UNSUPPORTED_MEDIA_TYPE");
export const TOO_LARGE = refused(413, "BODY_TOO_LARGE");
export const PROMPT_TOO_LONG = refused(413, "PROMPT_TOO_LONG");
export const BODY_TIMEOUT = refused(408, "BODY_TIMEOUT");
export const SIGNED_IN_STATUS = ok({ ok: true });
/**
 * A request no Web Request can be made of (a Host no URL takes, a backslash in
 * the path, a target that is not a path): @hono/node-server's listener refuses
 * it before any handler runs, and toNodeListener's errorHandler answers it.
 */
export const NO_WEB_REQUEST = BAD_REQUEST;

// Allowed differences that several rows share.

/**
 * Next.js hands the route a Web Request, and a fetch runtime hands the proxy
 * one: its URL parser has resolved dot segments (also %2e) and dropped any
 * fragment, so neither can refuse what it never sees.
 */
export function webUrlResolved(expect: Expected): Partial<Record<AdapterName, Difference>> {
  return toWebRequestOnly(expect, "a Web Request's URL already resolved the dot segments and dropped the fragment");
}

/**
 * An absolute-form target is a whole URL: @hono/node-server makes the Web
 * Request's URL of it (its host replaces Host, as RFC 9112 says), so the Next
 * route and the proxy, handed only that Request, see a plain path; the other
 * adapters also see the raw target, which is not a path, so no route of theirs.
 */
export function webUrlOfAbsoluteForm(expect: Expected): Partial<Record<AdapterName, Difference>> {
  return toWebRequestOnly(expect, "the Web Request's URL is the absolute-form target itself, so its path is routed like any other");
}

function toWebRequestOnly(expect: Expected, why: string): Partial<Record<AdapterName, Difference>> {
  return { next: { expect, why }, worker: { expect, why } };
}

/** Next.js answers a method the route file does not export itself: 405, empty body. */
export const NEXT_UNEXPORTED_METHOD: Partial<Record<AdapterName, Difference>> = {
  next: { expect: { kind: "empty", status: 405 }, why: "Next.js answers methods the route does not export (405, no body) before our code" },
};

/**
 * Hono's own serve (@hono/node-server, started by the app) has no errorHandler
 * of ours: what no Web Request can be made of gets its empty 400.
 */
export const HONO_SERVE_REFUSES: Partial<Record<AdapterName, Difference>> = {
  hono: { expect: { kind: "empty", status: 400 }, why: "the app's own @hono/node-server serve answers an empty 400 before the Hono app runs" },
};

/** Express and Fastify route on the raw path before our listener runs: a raw path not under the base path stays the app's. */
const appRoutesRawPath: Difference = {
  expect: { kind: "left-to-app" },
  why: "Express and Fastify match the base path on the raw path first: this one is not under it, so the app's own 404 answers",
};
export const APP_ROUTES_RAW_PATH: Partial<Record<AdapterName, Difference>> = {
  express5: appRoutesRawPath,
  express4: appRoutesRawPath,
  fastify: appRoutesRawPath,
};

/** Fastify routes only the methods the app enabled (addHttpMethod); any other gets Fastify's own 404 before plugins run. */
export const FASTIFY_UNKNOWN_METHOD: Partial<Record<AdapterName, Difference>> = {
  fastify: { expect: { kind: "left-to-app" }, why: "Fastify answers a method the app did not enable with its own 404 before any plugin runs" },
};

/** Fastify's router refuses a malformed percent-escape with its own 400 JSON before any plugin runs. */
export const FASTIFY_BAD_URL: Partial<Record<AdapterName, Difference>> = {
  fastify: { expect: { kind: "json", status: 400, code: "FST_ERR_BAD_URL" }, why: "Fastify's router refuses a malformed escape before any plugin runs" },
};

/** The proxy sends the backend's own Host, so the backend compares Origin with that, not with what the client sent. */
export function workerSendsBackendHost(expect: Expected): Partial<Record<AdapterName, Difference>> {
  return { worker: { expect, why: "the proxy sends the backend's own Host: the client's Host never reaches the handler" } };
}
