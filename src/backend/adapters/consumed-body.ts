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
