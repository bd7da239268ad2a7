/**
 * Security issue #10, a hostile corpus: every row of tests/hostile/corpus.ts
 * goes as raw bytes over a real socket through every adapter. Each answer is
 * the row's expected one (the documented success or a 4xx JSON with a code),
 * never a 5xx, a stack trace, a file path, a token or a hang; the adapters
 * agree with each other; and each server still works after the corpus.
 */
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CodexHandlerOptions } from "../../../../src/backend/core/options.js";
import type { RunnerContext } from "../../../../src/backend/runners/types.js";
import { createScriptedRunner, send } from "../../../support/adapter-runner.js";
import { express4, expressApp, listen, startFastify, startHono, startNextLike, startNode, startWorkerProxy } from "../../../support/adapter-servers.js";
import type { StartAdapter, StartedServer } from "../../../support/adapter-suite.js";
import { checkExpected, checkInvariants, expectedFor, signature } from "./check-answer.js";
import { CORPUS } from "./corpus.js";
import type { RawAnswer } from "./raw-client.js";
import { API, LISTED_ORIGIN, type AdapterName } from "./rows.js";
import { runCorpus, signedInCookie } from "./run-corpus.js";

const SECRET = "hostile-corpus-Secret-5Rk8Wq2Nz7Lp3Xv";
// Tokens the runner keeps in the session's data, as a real runner keeps its OAuth tokens: no answer may carry them.
const ACCESS_TOKEN = "canary-access-Tk9Qz4Wm2Lx7Rb5Hv3Ns8";
const REFRESH_TOKEN = "canary-refresh-Pq3Vn6Yt1Kd8Zc4Jw7Mg";
const SECRETS = [ACCESS_TOKEN, REFRESH_TOKEN, SECRET];

const ADAPTERS: ReadonlyArray<readonly [AdapterName, string, StartAdapter]> = [
  ["node", "the Node listener (createNodeHandler)", startNode],
  ["express5", "Express 5 (createCodexRouter)", (options) => listen(expressApp(express, options))],
  ["express4", "Express 4 (createCodexRouter)", (options) => listen(expressApp(express4, options))],
  ["fastify", "Fastify (codexFastify)", startFastify],
  ["next", "Next route handlers behind node:http (trustProxy)", startNextLike],
  ["worker", "the Worker proxy in front of the Node listener", startWorkerProxy],
  // Last: @hono/node-server replaces the global Request and Response for the whole process.
  ["hono", "Hono on @hono/node-server (codexHono)", (options) => startHono(options)],
];

/** What the handler reported while serving: internal errors logged, and whether a session came back holding the tokens. */
interface Observed {
  errors: string[];
  sawTokens: boolean;
}

function corpusOptions(observed: Observed): CodexHandlerOptions {
  const runner = createScriptedRunner();
  const startDeviceLogin = runner.startDeviceLogin.bind(runner);
  runner.startDeviceLogin = (ctx: RunnerContext) => {
    ctx.data.tokens = { access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN };
    return startDeviceLogin(ctx);
  };
  const getStatus = runner.getStatus.bind(runner);
  runner.getStatus = (ctx: RunnerContext) => {
    if ((ctx.data.tokens as { access_token?: unknown } | undefined)?.access_token === ACCESS_TOKEN) observed.sawTokens = true;
    return getStatus(ctx);
  };
  // A short body deadline, so that slow and short bodies are answered within the row deadline.
  const limits = { maxBodyBytes: 64 * 1024, bodyTimeoutMs: 400 };
  return {
    runner,
    cookieSecret: SECRET,
    allowedOrigins: [LISTED_ORIGIN],
    rateLimits: false,
    limits,
    logger: { error: (message) => observed.errors.push(message) },
  };
}

const answers = new Map<AdapterName, RawAnswer[]>();
const rows = CORPUS.map((row, index) => [row.name, index] as const);

describe("the hostile corpus", () => {
  it("holds at least 200 requests, each with a unique name", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(200);
    expect(new Set(CORPUS.map((row) => row.name)).size).toBe(CORPUS.length);
  });

  it("catches a 5xx, a hang, a stack frame, a file path and a token in an answer", () => {
    const answer = (raw: string, status = 400, outcome: RawAnswer["outcome"] = "answered"): RawAnswer => ({
      outcome,
      status,
      headers: {},
      body: Buffer.from(raw),
      raw: Buffer.from(raw),
      elapsedMs: 1,
    });
    expect(() => checkInvariants(answer("{}"), SECRETS)).not.toThrow();
    expect(() => checkInvariants(answer("{}", 502), SECRETS)).toThrow(/5xx/);
    expect(() => checkInvariants(answer("", 0, "hang"), SECRETS)).toThrow(/deadline/);
    expect(() => checkInvariants(answer("Error: x\n    at handle (index.js:1:2)"), SECRETS)).toThrow(/stack/);
    expect(() => checkInvariants(answer('{"error":"open /work/app/src/x"}'), SECRETS)).toThrow(/file path/);
    expect(() => checkInvariants(answer(`{"t":"${ACCESS_TOKEN}"}`), SECRETS)).toThrow(/token/);
  });
});

for (const [adapter, label, start] of ADAPTERS) {
  describe(`hostile corpus through ${label}`, () => {
    const observed: Observed = { errors: [], sawTokens: false };
    let server: StartedServer;

    beforeAll(async () => {
      server = await start(corpusOptions(observed));
      answers.set(adapter, await runCorpus(server.baseUrl, CORPUS));
    }, 60_000);
    afterAll(() => server?.close());

    it.each(rows)("%s", (_name, index) => {
      const answer = answers.get(adapter)![index]!;
      checkInvariants(answer, SECRETS);
      checkExpected(answer, expectedFor(CORPUS[index]!, adapter), adapter);
    });

    it("still answers, signs in and runs after the corpus", async () => {
      const health = await send(`${server.baseUrl}${API}/status`);
      expect(health.status).toBe(401);
      expect(health.json()).toMatchObject({ code: "NO_SESSION" });
      const cookie = await signedInCookie(server.baseUrl);
      const run = await send(`${server.baseUrl}${API}/run/stream`, {
        method: "POST",
        headers: { origin: LISTED_ORIGIN, cookie, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "hi" }),
      });
      expect(run.status).toBe(200);
      expect(run.text.trim().split("\n").at(-1)).toBe('{"type":"done","result":{}}');
      // The sessions really held the tokens the leak check looks for.
      expect(observed.sawTokens).toBe(true);
    });

    it("logged no internal error while answering the corpus", () => {
      expect(observed.errors).toEqual([]);
    });
  });
}

describe("the adapters agree", () => {
  it.each(rows)("%s", (_name, index) => {
    const row = CORPUS[index]!;
    // A request left to the app gets the app's own 404 body: there only the status must agree.
    const statusOnly = row.expect.kind === "left-to-app";
    const bySignature: Record<string, AdapterName[]> = {};
    for (const [adapter] of ADAPTERS) {
      const answer = answers.get(adapter)?.[index];
      if (answer === undefined || row.differs?.[adapter] !== undefined) continue;
      (bySignature[signature(answer, statusOnly)] ??= []).push(adapter);
    }
    expect(Object.keys(bySignature), JSON.stringify(bySignature)).toHaveLength(1);
  });
});
