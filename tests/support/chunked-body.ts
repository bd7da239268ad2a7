/** A body that delivers exactly these chunks, one read each (empty chunks included). */
export function bodyOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  const queue = [...chunks];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

/** `bytes` cut at these positions (sorted, repeats make empty chunks), for "any chunking gives the same result". */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = [...cuts].map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const position of positions) {
    chunks.push(bytes.slice(from, position));
    from = position;
  }
  chunks.push(bytes.slice(from));
  return chunks;
}
