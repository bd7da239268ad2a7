/**
 * What the contract answers, before it becomes anything else: the Web handler
 * turns it into one `Response`; the Node adapters write it to the socket
 * directly (on Node 20 building a Web Response costs more than most answers).
 * Header names are lower-case; `set-cookie` holds at most one cookie.
 */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** A complete text (JSON), a stream (NDJSON run), or nothing (204). */
  body: string | ReadableStream<Uint8Array> | null;
}

/**
 * The Web `Response` for a reply.
 *
 * @example
 * toResponse({ status: 200, headers: { "content-type": "application/json" }, body: "{}" });
 */
export function toResponse(reply: Reply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}
