import { expect } from "vitest";
import type { RawAnswer } from "./raw-client.js";
import type { AdapterName, CorpusRow, Expected } from "./rows.js";

/** Adapters given every path in these tests (the Node listener, and the Next catch-all behind node:http). */
const ANSWER_EVERY_PATH: ReadonlySet<AdapterName> = new Set(["node", "next"]);

// A stack frame ("    at fn (file.ts:1:2)") or a file path in any answer is a leak of the server's insides.
const STACK_FRAME = /\n\s*at [^\n]*[:(]\d+/;
const FILE_PATH = /(?:\/work\/|\/home\/|\/tmp\/|node_modules|file:\/\/|[A-Za-z]:\\|\.[cm]?[jt]s:\d+)/;

/** What a row expects from this adapter: its own difference if the row lists one. */
export function expectedFor(row: CorpusRow, adapter: AdapterName): Expected {
  return row.differs?.[adapter]?.expect ?? row.expect;
}

/** The invariants every answer keeps, whatever the row: answered in time, no 5xx, no leak. */
export function checkInvariants(answer: RawAnswer, secrets: readonly string[]): void {
  const text = answer.raw.toString("latin1");
  expect(answer.outcome, "the server must answer before the deadline").not.toBe("hang");
  expect(answer.status, "never a 5xx").toBeLessThan(500);
  expect(text, "no stack frame in any answer").not.toMatch(STACK_FRAME);
  expect(text, "no file path in any answer").not.toMatch(FILE_PATH);
  for (const secret of secrets) expect(text.includes(secret), "no token or secret in any answer").toBe(false);
}

/** The row's expected answer, checked in full. */
export function checkExpected(answer: RawAnswer, expected: Expected, adapter: AdapterName): void {
  const summary = `${answer.outcome} ${answer.status} ${answer.body.toString("utf8").slice(0, 200)}`;
  switch (expected.kind) {
    case "json": {
      expect(answer.status, summary).toBe(expected.status);
      const body = jsonBody(answer);
      if (expected.code !== undefined) expect(body.code, summary).toBe(expected.code);
      if (expected.body !== undefined) expect(body, summary).toMatchObject(expected.body);
      if (answer.status >= 400) expect(typeof body.code, "a 4xx carries a string code").toBe("string");
      return;
    }
    case "stream": {
      expect(answer.status, summary).toBe(200);
      expect(answer.headers["content-type"]?.[0], summary).toMatch(/^application\/x-ndjson/);
      const lines = answer.body.toString("utf8").trim().split("\n");
      expect(JSON.parse(lines.at(-1) ?? "null"), summary).toMatchObject({ type: "done" });
      return;
    }
    case "empty":
      expect(answer.status, summary).toBe(expected.status);
      expect(answer.body.length, summary).toBe(0);
      return;
    case "node-refuses":
      expect(answer.status, summary).toBe(expected.status);
      // node:http's default answer has no body; Fastify installs its own clientError handler, which says the same in JSON.
      if (adapter === "fastify" && answer.body.length > 0) expect(jsonBody(answer), summary).toMatchObject({ statusCode: expected.status });
      else expect(answer.body.length, `node:http's own answer has no body: ${summary}`).toBe(0);
      return;
    case "node-closes":
      expect(answer.outcome, summary).toBe("closed");
      expect(answer.status, summary).toBe(0);
      return;
    case "left-to-app":
      expect(answer.status, summary).toBe(404);
      if (ANSWER_EVERY_PATH.has(adapter)) expect(jsonBody(answer).code, summary).toBe("NOT_FOUND");
      return;
  }
}

/**
 * What adapters must agree on: the status, and the contract's code or "stream"
 * when there is one ("404 NOT_FOUND", "200 stream", "400"). With `statusOnly`,
 * just the status (where apps answer with bodies of their own).
 */
export function signature(answer: RawAnswer, statusOnly = false): string {
  if (answer.outcome !== "answered") return answer.outcome;
  if (statusOnly) return String(answer.status);
  const type = answer.headers["content-type"]?.[0] ?? "";
  if (type.startsWith("application/x-ndjson")) return `${answer.status} stream`;
  const code = type.startsWith("application/json") ? (safeJson(answer.body) as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === "string" ? `${answer.status} ${code}` : String(answer.status);
}

function jsonBody(answer: RawAnswer): Record<string, unknown> {
  expect(answer.headers["content-type"]?.[0], "a JSON answer").toMatch(/^application\/json/);
  const body = safeJson(answer.body);
  expect(body !== null && typeof body === "object", `a JSON object: ${answer.body.toString("utf8").slice(0, 200)}`).toBe(true);
  return body as Record<string, unknown>;
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}
