import { send } from "../../../support/adapter-runner.js";
import { sendRaw, type RawAnswer } from "./raw-client.js";
import { API, COOKIE_NAME, LISTED_ORIGIN, type CorpusRow, type HostileRequest } from "./rows.js";

/** How long any row may take before it counts as a hang (the corpus configures a 400 ms body deadline). */
export const ROW_DEADLINE_MS = 3000;

/**
 * Sends every row to the server at `baseUrl`; answers in row order. Rows that
 * send slowly or wait all start at once (their waits overlap), the others go
 * `concurrency` at a time beside them.
 */
export async function runCorpus(baseUrl: string, rows: readonly CorpusRow[], concurrency = 6): Promise<RawAnswer[]> {
  const answers = new Array<RawAnswer>(rows.length);
  const indexed = rows.map((row, index) => ({ row, index }));
  const slow = indexed.filter(({ row }) => row.request.delivery.kind !== "whole");
  const quick = indexed.filter(({ row }) => row.request.delivery.kind === "whole");
  let next = 0;
  const worker = async () => {
    while (next < quick.length) {
      const { row, index } = quick[next++]!;
      answers[index] = await sendRow(baseUrl, row.request);
    }
  };
  await Promise.all([
    ...slow.map(async ({ row, index }) => (answers[index] = await sendRow(baseUrl, row.request))),
    ...Array.from({ length: concurrency }, worker),
  ]);
  return answers;
}

/** One row: fresh sessions for its placeholders, then the raw bytes over a new connection. */
export async function sendRow(baseUrl: string, request: HostileRequest): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  const values: Record<string, string> = { host: url.host, origin: url.origin };
  const text = request.target + request.headers.map(([name, value]) => name + value).join("");
  if (/\{(cookie|id|sig[a-z-]*)\}/.test(text)) Object.assign(values, sessionValues(await signedInCookie(baseUrl)));
  if (text.includes("{anon}")) values.anon = await newSessionCookie(baseUrl);
  const fill = (template: string) => template.replace(/\{([a-z-]+)\}/g, (whole, key: string) => values[key] ?? whole);

  const headers = request.headers.map(([name, value]) => [name, fill(value)] as const).filter(([, value]) => value !== "{none}");
  const named = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const lines = [`${request.method} ${fill(request.target)} HTTP/1.1`];
  if (!named.has("host")) lines.push(`Host: ${url.host}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const framed = named.has("content-length") || named.has("transfer-encoding");
  if (request.autoLength && !framed && (request.body.length > 0 || ["POST", "PUT", "PATCH"].includes(request.method))) {
    lines.push(`Content-Length: ${request.body.length}`);
  }
  if (!named.has("connection")) lines.push("Connection: close");
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "utf8");
  return sendRaw(Number(url.port), head, request.body, request.delivery, {
    deadlineMs: ROW_DEADLINE_MS,
    isHead: request.method === "HEAD",
  });
}

/** POST /session from the listed origin: the new session's `name=value`. */
export async function newSessionCookie(baseUrl: string): Promise<string> {
  const res = await send(`${baseUrl}${API}/session`, { method: "POST", headers: { origin: LISTED_ORIGIN } });
  return cookieOf(res.headers["set-cookie"], res.status);
}

/** A new session signed in through /login/start (the scripted runner signs in at once): its rotated `name=value`. */
export async function signedInCookie(baseUrl: string): Promise<string> {
  const cookie = await newSessionCookie(baseUrl);
  const res = await send(`${baseUrl}${API}/login/start`, { method: "POST", headers: { origin: LISTED_ORIGIN, cookie } });
  return cookieOf(res.headers["set-cookie"], res.status);
}

function cookieOf(setCookie: string[] | undefined, status: number): string {
  const first = setCookie?.[0];
  if (first === undefined) throw new Error(`no Set-Cookie while setting up a session (status ${status})`);
  return first.split(";")[0]!;
}

/** The placeholders of a signed-in cookie: whole, its halves, and tampered spellings of its signature. */
function sessionValues(cookie: string): Record<string, string> {
  const value = cookie.slice(COOKIE_NAME.length + 1);
  const [id = "", sig = ""] = value.split(".");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // 43 characters carry 258 bits for 256: the last character's low bits are padding, so flipping one spells the same MAC.
  const last = alphabet.indexOf(sig.at(-1) ?? "A");
  return {
    cookie,
    id,
    sig,
    "sig-truncated": sig.slice(0, 42),
    "sig-noncanonical": sig.slice(0, 42) + alphabet[last ^ 1],
    "sig-base64": Buffer.from(sig, "base64url").toString("base64"),
  };
}
