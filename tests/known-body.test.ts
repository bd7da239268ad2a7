import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createCodexRouter } from "../src/backend/adapters/express.js";
import { toNodeListener } from "../src/backend/adapters/node.js";
import { createCodexHandler, type CodexHandler } from "../src/backend/handler.js";
import { textOf, textResponse } from "../src/backend/known-body.js";
import { createScriptedRunner } from "./adapter-runner.js";

const express4 = createRequire(import.meta.url)("express4") as typeof express;
const SECRET = "known-body-tests-Secret-9Qx2Lm7Vt";
const API = "http://127.0.0.1/api/codex";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))),
  );
});

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The real handler, keeping the last Response it returned so the test can look at it after the adapter sent it. */
function recordingHandler(wrap: (response: Response) => Response = (r) => r) {
  const inner = createCodexHandler({ runner: createScriptedRunner(), cookieSecret: SECRET, rateLimits: false, cookieOptions: { secure: false } });
  const seen: Response[] = [];
  const handler: CodexHandler = async (request, info) => {
    const response = wrap(await inner(request, info));
    seen.push(response);
    return response;
  };
  return { handler, seen };
}

const adapters: Array<[string, (handler: CodexHandler) => RequestListener]> = [
  ["Node http", (handler) => toNodeListener(handler)],
  ["Express 5", (handler) => express().use(createCodexRouter(handler))],
  ["Express 4", (handler) => express4().use(createCodexRouter(handler))],
];

describe.each(adapters)("%s adapter with the handler's JSON answers", (_name, make) => {
  it("writes the known text without reading the body stream, and the bytes match the Response", async () => {
    const { handler, seen } = recordingHandler();
    const base = await listen(make(handler));
    const answer = await fetch(`${base}/api/codex/session`, { method: "POST", headers: { origin: base } });
    const body = await answer.text();
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("set-cookie")).toMatch(/^codex_sid=/);
    const sent = seen[0] as Response;
    expect(sent.bodyUsed).toBe(false); // the fast path never touched the stream…
    expect(await sent.text()).toBe(body); // …which still holds exactly what went out
  });

  it("reads the body as usual when the Response is not the handler's own (a wrapper re-made it)", async () => {
    const { handler, seen } = recordingHandler((r) => new Response(r.body, r));
    const base = await listen(make(handler));
    const answer = await fetch(`${base}/api/codex/status`, { headers: { origin: base } });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ ok: false, status: "logged_out", code: "NO_SESSION" });
    expect((seen[0] as Response).bodyUsed).toBe(true); // the ordinary path read it
  });
});

describe("the handler's Responses for a plain caller", () => {
  it("have a readable body stream and readable text, like any Response", async () => {
    const { handler } = recordingHandler();
    const first = await handler(new Request(`${API}/session`, { method: "POST", headers: { origin: "http://127.0.0.1" } }));
    const chunks: Uint8Array[] = [];
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    expect(JSON.parse(Buffer.concat(chunks).toString("utf8"))).toEqual({ ok: true });

    const second = await handler(new Request(`${API}/status`));
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ ok: false, status: "logged_out" });
    const copy = (await handler(new Request(`${API}/nope`))).clone();
    expect(await copy.json()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("are no longer 'known' once anyone has read the body, even partly", async () => {
    const read = textResponse('{"a":1}', { status: 200 });
    expect(textOf(read)).toBe('{"a":1}');
    await read.text();
    expect(textOf(read)).toBeUndefined();

    const partly = textResponse('{"a":1}', { status: 200 });
    const reader = (partly.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    reader.releaseLock();
    expect(textOf(partly)).toBeUndefined();
    expect(textOf(new Response('{"a":1}'))).toBeUndefined();
  });
});
