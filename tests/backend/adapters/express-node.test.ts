import { Agent, request, type RequestListener } from "node:http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createCodexRouter } from "../../../src/backend/adapters/express.js";
import { toNodeListener } from "../../../src/backend/adapters/node.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { describeAdapter, type StartedServer } from "../../support/adapter-suite.js";
import { cookieOf, createScriptedRunner, open, send, until } from "../../support/adapter-runner.js";
import { express4, expressApp, listen, startNode } from "../../support/adapter-servers.js";

describeAdapter("Express 5", (options) => listen(expressApp(express, options)));
describeAdapter("Express 4", (options) => listen(expressApp(express4, options)));
describeAdapter("Node http", startNode);

const SECRET = "adapter-tests-Secret-4hT8wQ1mZc6Rv";
const started: StartedServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});
async function start(listener: RequestListener): Promise<string> {
  const s = await listen(listener);
  started.push(s);
  return s.baseUrl;
}
function options(extra: Partial<CodexHandlerOptions> = {}): CodexHandlerOptions {
  return { runner: createScriptedRunner(), cookieSecret: SECRET, rateLimits: false, ...extra };
}

describe.each([
  ["Express 5", express],
  ["Express 4", express4],
])("%s router", (_name, make) => {
  it("passes requests outside the base path on to the app's own routes", async () => {
    const base = await start(expressApp(make, options()));
    const res = await send(`${base}/other`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ other: true });
  });

  it("answers a clear JSON error, not a hang, when a body parser ran before it", async () => {
    const base = await start(expressApp(make, options(), (app) => app.use(make.json())));
    const session = await send(`${base}/api/codex/session`, {
      method: "POST",
      headers: { origin: base, "content-type": "application/json" },
      body: "{}",
    });
    // Routes that do not read the body still work.
    expect(session.status).toBe(200);
    const login = await send(`${base}/api/codex/login/start`, {
      method: "POST",
      headers: { origin: base, cookie: cookieOf(session.headers["set-cookie"]) },
    });
    const cookie = cookieOf(login.headers["set-cookie"]); // rotated on login
    const run = await send(`${base}/api/codex/run/stream`, {
      method: "POST",
      headers: { origin: base, cookie, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello" }),
    });
    expect(run.status).toBe(500);
    expect(run.json()).toMatchObject({ code: "INTERNAL", error: expect.stringMatching(/before .*body parser|express\.json/i) });
  });

  it("serves a custom base path under an Express mount path using the full original URL", async () => {
    const app = make();
    app.use("/app", createCodexRouter(options({ basePath: "/app/auth" })));
    const base = await start(app);
    const res = await send(`${base}/app/auth/session`, { method: "POST", headers: { origin: base } });
    expect(res.status).toBe(200);
    expect((await send(`${base}/app/auth/nope`)).json()).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("Node adapter", () => {
  it("answers 500 INTERNAL without details when a handler throws", async () => {
    const base = await start(
      toNodeListener(async () => {
        throw new Error("secret stack detail");
      }),
    );
    const res = await send(`${base}/api/codex/status`);
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ ok: false, code: "INTERNAL", error: "Internal error." });
    expect(res.text).not.toContain("secret");
  });

  it("cuts the connection when a response body fails mid-stream, so the answer is not mistaken for complete", async () => {
    let firstLineArrived: () => void = () => undefined;
    const firstLine = new Promise<void>((resolve) => (firstLineArrived = resolve));
    const base = await start(
      toNodeListener(async () => {
        let sent = false;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (!sent) controller.enqueue(new TextEncoder().encode('{"type":"assistant-text"}\n'));
            else {
              await firstLine; // the client holds the first line before the body fails
              controller.error(new Error("boom"));
            }
            sent = true;
          },
        });
        return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
      }),
    );
    const { res } = await open(`${base}/api/codex/run/stream`);
    expect(res.statusCode).toBe(200);
    let received = "";
    const outcome = await new Promise<string>((resolve) => {
      res.on("data", (chunk: Buffer) => {
        received += chunk.toString("utf8");
        if (received.includes("\n")) firstLineArrived();
      });
      res.once("end", () => resolve("clean end"));
      res.once("error", () => resolve("cut"));
      res.once("aborted", () => resolve("cut"));
    });
    expect(received).toContain("assistant-text");
    expect(outcome).toBe("cut");
  });

  it("keeps a path that starts with // a path, whatever the Host header says", async () => {
    let seen = "";
    const base = await start(
      toNodeListener(async (request) => {
        seen = request.url;
        return new Response(null, { status: 204 });
      }),
    );
    // A Host that would change the URL's authority never reaches the handler: 400 JSON.
    const hostile = await send(`${base}//evil.example/api/codex/status`, { headers: { host: "victim.example@evil" } });
    expect(hostile.status).toBe(400);
    expect(hostile.json()).toMatchObject({ code: "BAD_REQUEST" });
    expect(seen).toBe("");
    await send(`${base}//evil.example/api/codex/status`, { headers: { host: "victim.example" } });
    const url = new URL(seen);
    expect(url.host).toBe("victim.example");
    expect(url.pathname).toBe("//evil.example/api/codex/status");
  });

  it("aborts the request's signal when the client leaves before the handler has answered", async () => {
    let signal: AbortSignal | undefined;
    const base = await start(
      toNodeListener(async (request) => {
        signal = request.signal;
        await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
        return new Response(null, { status: 204 });
      }),
    );
    const client = request(`${base}/api/codex/status`, { agent: false });
    client.on("error", () => {}); // we hang up ourselves
    client.end();
    await until(() => signal !== undefined);
    expect(signal?.aborted).toBe(false);
    client.destroy();
    await until(() => signal?.aborted === true);
  });

  it("sends a one-chunk body with Content-Length in one piece, and every Set-Cookie separately", async () => {
    const base = await start(
      toNodeListener(async () => {
        const headers = new Headers({ "content-type": "application/json" });
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        return new Response('{"ok":true}', { headers });
      }),
    );
    const res = await send(`${base}/x`);
    expect(res.headers["content-length"]).toBe("11");
    expect(res.headers["transfer-encoding"]).toBeUndefined();
    expect(res.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(res.text).toBe('{"ok":true}');
  });

  it("sends a slow stream's status and headers before its first chunk", async () => {
    let release: () => void = () => {};
    const base = await start(
      toNodeListener(async () => {
        const body = new ReadableStream<Uint8Array>({
          start: (controller) => {
            release = () => {
              controller.enqueue(new TextEncoder().encode("late\n"));
              controller.close();
            };
          },
        });
        return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
      }),
    );
    const { res } = await open(`${base}/stream`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    release();
    res.resume();
    await new Promise((resolve) => res.once("end", resolve));
  });

  it("keeps a keep-alive connection usable after a body the handler never read", async () => {
    const base = await start(toNodeListener(async (req) => new Response(req.method, { status: 200 })));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (body: string) =>
      new Promise<{ text: string; reused: boolean }>((resolve, reject) => {
        const req = request(`${base}/x`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ text, reused: req.reusedSocket }));
        });
        req.on("error", reject);
        req.end(body);
      });
    try {
      expect((await call(JSON.stringify({ unread: "x".repeat(1000) }))).text).toBe("POST");
      const second = await call("{}");
      expect(second).toEqual({ text: "POST", reused: true });
    } finally {
      agent.destroy();
    }
  });
});
