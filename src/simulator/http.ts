import type { IncomingMessage, ServerResponse } from "node:http";
import { decompress } from "fzstd";

/** Bodies above this are refused: the simulator is a test tool, not a sink. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Thrown by `readBody` for a body the simulator cannot accept. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Read the whole body as text, undoing `content-encoding: zstd` (the CLI compresses responses requests). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(413, "body_too_large", "Request body too large");
    chunks.push(buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase().trim();
  if (encoding === "identity" || encoding === "") return raw.toString("utf8");
  if (encoding !== "zstd") {
    throw new BodyError(415, "unsupported_content_encoding", `Unsupported content-encoding: ${encoding}`);
  }
  try {
    return Buffer.from(decompress(raw)).toString("utf8");
  } catch {
    throw new BodyError(400, "invalid_zstd", "Body is not valid zstd");
  }
}

/** Parse a JSON object body; anything else is undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The media type of the request, lower-cased, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** A string field of a parsed body, or undefined. */
export function stringField(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name];
  return typeof value === "string" ? value : undefined;
}

/** Send a JSON reply. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** An OpenAI-style error body: `{error: {message, type, param, code}}`. */
export function openAiError(message: string, code: string, type = "invalid_request_error"): unknown {
  return { error: { message, type, param: null, code } };
}
