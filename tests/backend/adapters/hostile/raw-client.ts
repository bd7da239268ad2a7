import { connect } from "node:net";

/** How the body goes on the wire after the head. */
export type Delivery =
  /** All at once. */
  | { kind: "whole" }
  /** One byte every `everyMs`, stopping as soon as an answer starts or the body is sent. */
  | { kind: "trickle"; everyMs: number }
  /** The given bytes, then nothing more: the client waits with the connection open. */
  | { kind: "short" };

/** What came back on one connection. */
export interface RawAnswer {
  /** `answered`: a full response; `closed`: the server hung up without one; `hang`: the deadline passed. */
  outcome: "answered" | "closed" | "hang";
  status: number;
  /** Lower-case names; repeated headers keep every value. */
  headers: Record<string, string[]>;
  body: Buffer;
  /** Everything received, head included, for the leak checks. */
  raw: Buffer;
  elapsedMs: number;
}

const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * Sends bytes exactly as given over a fresh TCP connection to 127.0.0.1:port
 * and reads one response (1xx interim answers skipped). Resolves by the
 * deadline whatever happens; never rejects. No HTTP client sits in between,
 * so malformed heads, raw targets and lying lengths reach the server as written.
 */
export function sendRaw(
  port: number,
  head: Buffer,
  body: Buffer,
  delivery: Delivery,
  options: { deadlineMs: number; isHead: boolean },
): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const chunks: Buffer[] = [];
    let settled = false;
    let trickle: NodeJS.Timeout | undefined;

    const finish = (outcome: RawAnswer["outcome"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(trickle);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const parsed = parseResponse(raw, options.isHead);
      const answered = parsed !== undefined && (parsed.complete || outcome !== "hang");
      resolve({
        outcome: answered ? "answered" : outcome,
        status: parsed?.status ?? 0,
        headers: parsed?.headers ?? {},
        body: parsed?.body ?? Buffer.alloc(0),
        raw,
        elapsedMs: Date.now() - started,
      });
    };
    const deadline = setTimeout(() => finish("hang"), options.deadlineMs);

    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      clearInterval(trickle); // an answer has started: stop sending
      if (parseResponse(Buffer.concat(chunks), options.isHead)?.complete) finish("answered");
    });
    socket.on("end", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("error", () => finish("closed")); // a reset after the answer still leaves what was read

    socket.on("connect", () => {
      if (delivery.kind !== "trickle") {
        socket.write(Buffer.concat([head, body]));
        return;
      }
      socket.write(head);
      let next = 0;
      trickle = setInterval(() => {
        if (next >= body.length || socket.destroyed) {
          clearInterval(trickle);
          return;
        }
        socket.write(body.subarray(next, next + 1));
        next++;
      }, delivery.everyMs);
    });
  });
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string[]>;
  body: Buffer;
  /** The body's framing says it is all here. */
  complete: boolean;
}

/** Parses one HTTP/1.1 response out of the bytes so far; undefined until a final head is there. */
export function parseResponse(bytes: Buffer, isHead: boolean): ParsedResponse | undefined {
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf(HEAD_END, offset);
    if (end === -1) return undefined;
    const lines = bytes.subarray(offset, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
    const bodyStart = end + HEAD_END.length;
    if (status >= 100 && status < 200 && status !== 101) {
      offset = bodyStart; // an interim answer (100 Continue): the real one follows
      continue;
    }
    const headers: Record<string, string[]> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon === -1) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    const rest = bytes.subarray(bodyStart);
    if (isHead || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0), complete: true };
    if ((headers["transfer-encoding"]?.join(",") ?? "").toLowerCase().includes("chunked")) {
      const decoded = dechunk(rest);
      return { status, headers, body: decoded.body, complete: decoded.complete };
    }
    const length = headers["content-length"]?.[0];
    if (length !== undefined) {
      const expected = Number(length);
      return { status, headers, body: rest.subarray(0, expected), complete: rest.length >= expected };
    }
    return { status, headers, body: rest, complete: false }; // read until the server closes
  }
}

function dechunk(bytes: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(bytes.subarray(offset, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) {
      parts.push(bytes.subarray(start, Math.min(bytes.length, start + size)));
      return { body: Buffer.concat(parts), complete: false };
    }
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}
