/** The part of Node's request these helpers read; structural, so non-Node code needs no Node types. */
interface ArrivingRequest {
  complete?: boolean;
}

/** Whether the request body is still arriving once the answer is ready (the handler did not read it all). */
export async function stillArriving(incoming: ArrivingRequest): Promise<boolean> {
  if (incoming.complete !== false) return false;
  // A handler that answers at once runs before Node parses the rest of the packet: give it one turn.
  await new Promise((resolve) => setImmediate(resolve));
  return incoming.complete === false;
}

/**
 * The same response, asking the server to close the connection after it:
 * `@hono/node-server` would otherwise read on through the rest of an upload
 * the handler refused.
 */
export function closingConnection(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (e.g. a handler of your own returned a fetched Response): copy them.
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}
