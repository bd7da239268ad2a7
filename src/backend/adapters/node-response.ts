import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

export interface SendWebResponseOptions {
  /** Close the connection after this response (the request body was left unread). */
  closeConnection?: boolean;
}

/**
 * Writes a Web `Response` to a Node response. The body is pulled one chunk at
 * a time: when the socket's buffer is full it waits for 'drain' before reading
 * the next chunk, and when the client goes away it cancels the body, so a slow
 * or vanished client never makes the server buffer a stream.
 *
 * @example
 * await sendWebResponse(await handler(request), res);
 */
export async function sendWebResponse(
  response: Response,
  res: ServerResponse,
  options: SendWebResponseOptions = {},
): Promise<void> {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (options.closeConnection) headers.connection = "close";
  res.writeHead(response.status, headers);

  const body = response.body;
  if (!body) {
    res.end();
    return;
  }
  await pipeBody(body, res);
}

async function pipeBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let gone = res.destroyed;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    reader.cancel().catch(() => {}); // a read in progress resolves as done
    wake?.();
  };
  res.once("close", onClose);
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        wake = undefined;
        resolve();
      };
      wake = done;
      res.once("drain", done);
    });

  try {
    while (!gone) {
      const { done, value } = await reader.read();
      if (gone) return;
      if (done) {
        res.end();
        return;
      }
      if (!res.write(value)) await drained();
    }
  } catch {
    // The body failed mid-stream: cut the connection so the client sees a truncated answer, not a complete one.
    res.destroy();
  } finally {
    res.off("close", onClose);
    if (gone) reader.cancel().catch(() => {});
  }
}
