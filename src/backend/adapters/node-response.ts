import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Reply } from "../reply.js";

export interface SendWebResponseOptions {
  /** Close the connection after this response (the request body was left unread). */
  closeConnection?: boolean;
}

type Read = ReadableStreamReadResult<Uint8Array>;

/**
 * Writes a Web `Response` to a Node response. The body is pulled one chunk at
 * a time: when the socket's buffer is full it waits for 'drain' before reading
 * the next chunk, and when the client goes away it cancels the body, so a slow
 * or vanished client never makes the server buffer a stream. A body that is
 * complete at once (a JSON answer) goes out with Content-Length in one write;
 * a body that is not (a run stream) has its headers flushed straight away.
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
  const body = response.body;
  if (!body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  await pipeBody(body, res, response.status, headers);
}

/**
 * Writes the contract core's reply: a complete text in one write with
 * Content-Length (synchronously); a stream pulled at the client's pace, as for
 * a Response (the promise settles when it ends).
 *
 * @example
 * await sendReply(await core(request, { clientIp }), res);
 */
export function sendReply(reply: Reply, res: ServerResponse, options: SendWebResponseOptions = {}): Promise<void> | undefined {
  const headers: OutgoingHttpHeaders = reply.headers;
  if (options.closeConnection) headers.connection = "close";
  const { body } = reply;
  if (typeof body === "string") {
    headers["content-length"] = String(Buffer.byteLength(body));
    res.writeHead(reply.status, headers).end(body);
  } else if (body === null) {
    res.writeHead(reply.status, headers).end();
  } else {
    return pipeBody(body, res, reply.status, headers);
  }
  return undefined; // written at once: nothing to wait for
}

async function pipeBody(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
): Promise<void> {
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
    // Every read is marked handled at once: if the client leaves, the loop stops without awaiting the
    // last read, and a body that then errors (an aborted fetch) must not become an unhandled rejection.
    const read = (): Promise<Read> => {
      const next = reader.read();
      next.catch(() => {});
      return next;
    };
    let pending = read();
    const first = await soon(pending);
    if (gone) return;
    if (first === undefined) {
      res.writeHead(status, headers).flushHeaders(); // a stream that takes its time: let the client see the status now
    } else if (first.done) {
      res.writeHead(status, { ...headers, "content-length": "0" }).end();
      return;
    } else {
      pending = read();
      const second = await soon(pending);
      if (second?.done) {
        // The whole body in one chunk: one write with Content-Length, no chunked framing.
        if (!gone) res.writeHead(status, { ...headers, "content-length": String(first.value.byteLength) }).end(first.value);
        return;
      }
      res.writeHead(status, headers);
      if (!res.write(first.value)) await drained();
    }
    while (!gone) {
      const { done, value } = await pending;
      if (gone) return;
      if (done) {
        res.end();
        return;
      }
      if (!res.write(value)) await drained();
      pending = read();
    }
  } catch {
    // The body failed mid-stream: cut the connection so the client sees a truncated answer, not a complete one.
    res.destroy();
  } finally {
    res.off("close", onClose);
    if (gone) reader.cancel().catch(() => {});
  }
}

/** The read's result if it settles within this turn of the event loop, else undefined (it stays pending). */
function soon(read: Promise<Read>): Promise<Read | undefined> {
  let timer: ReturnType<typeof setImmediate> | undefined;
  return Promise.race([
    read,
    new Promise<undefined>((resolve) => {
      timer = setImmediate(resolve, undefined);
    }),
  ]).finally(() => clearImmediate(timer));
}
