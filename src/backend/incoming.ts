/**
 * The parts of a request the contract reads. A Web `Request` has them all;
 * the Node adapters pass a lighter object over Node's own request, so no Web
 * Request is built per call. Anything that decides about a request reads it
 * through this shape only, whichever adapter made it.
 */
export interface IncomingRequest {
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  readonly signal: AbortSignal;
  /** The URL's path, when the adapter already knows it exactly as `new URL(url).pathname` would give it. */
  readonly pathname?: string;
}
