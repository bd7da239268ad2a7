/**
 * A request body some middleware read before the adapter saw it: a stream
 * that fails with `makeError()` when the handler reads it, so a route that
 * needs the body answers that error at once instead of waiting forever.
 */
export function consumedBody(makeError: () => Error): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(makeError());
    },
  });
}

/** The same request with a body that fails, when read, with the error that names the fix. */
export function withConsumedBody(request: Request, makeError: () => Error): Request {
  try {
    // `duplex` is required for a stream body on Node and is missing from TypeScript's RequestInit.
    const init = {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      body: consumedBody(makeError),
      duplex: "half",
    };
    return new Request(request.url, init as RequestInit);
  } catch {
    // A method no Request may carry a body with (the handler refuses it anyway).
    return request;
  }
}
