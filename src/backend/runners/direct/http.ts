/** fetch with deadlines and caller cancellation, failures turned into typed errors. */
import { CodexError } from "../../core/errors.js";

/** Bodies of non-streamed upstream answers are small; cap what we buffer. */
const MAX_BODY_BYTES = 1024 * 1024;

/** A non-streamed upstream answer, read in full. */
export interface UpstreamReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** An AbortController that follows `parent` and can also fire on a deadline. */
export class Cancel {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOutWhat: string | undefined;
  readonly #onParentAbort = (): void => this.controller.abort();
  readonly #parent: AbortSignal | undefined;

  constructor(parent?: AbortSignal) {
    this.#parent = parent;
    if (parent?.aborted) this.controller.abort();
    else parent?.addEventListener("abort", this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** (Re)arm the deadline; `what` names the wait in the timeout message. */
  arm(ms: number, what: string): void {
    this.disarm();
    this.#timer = setTimeout(() => {
      this.#timedOutWhat = what;
      this.controller.abort();
    }, ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The typed error for a failure seen while this controller was in use. */
  failure(cause: unknown): CodexError {
    if (cause instanceof CodexError) return cause;
    if (this.#timedOutWhat !== undefined) {
      return new CodexError("UPSTREAM_TIMEOUT", `The upstream service did not answer in time (${this.#timedOutWhat}).`);
    }
    if (this.#parent?.aborted) return new CodexError("RUN_ABORTED", "The request was cancelled.");
    return new CodexError("UPSTREAM_UNAVAILABLE", "The upstream service could not be reached.", { cause });
  }

  dispose(): void {
    this.disarm();
    this.#parent?.removeEventListener("abort", this.#onParentAbort);
  }
}

/** Read a body up to MAX_BODY_BYTES (the rest is dropped, the stream cancelled). */
export async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    text += decoder.decode(value, { stream: true });
    if (bytes >= MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return text + decoder.decode();
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One upstream call read in full within `timeoutMs`.
 * Throws CodexError: UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE (network), RUN_ABORTED.
 */
export async function request(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<UpstreamReply> {
  const cancel = new Cancel(signal);
  cancel.arm(timeoutMs, "request");
  try {
    const response = await fetchImpl(url, { ...init, signal: cancel.signal });
    const text = await readCapped(response.body);
    return { status: response.status, headers: response.headers, text, json: parseJson(text) };
  } catch (error) {
    throw cancel.failure(error);
  } finally {
    cancel.dispose();
  }
}

/** Wait `ms`, or less if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
