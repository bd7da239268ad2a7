import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import type { StartedServer } from "../../support/adapter-suite.js";
import { createScriptedRunner, loginAndRun, send } from "../../support/adapter-runner.js";
import { expressApp, listen } from "../../support/adapter-servers.js";

const SECRET = "adapter-tests-Secret-4hT8wQ1mZc6Rv";
const started: StartedServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe("an Express app with a body parser in front of the router", () => {
  it("tells the server's log the fix (mount before express.json()), not only the browser", async () => {
    const lines: string[] = [];
    const options: CodexHandlerOptions = {
      runner: createScriptedRunner(),
      cookieSecret: SECRET,
      rateLimits: false,
      cookieOptions: { secure: false },
      logger: { error: (message, fields) => lines.push(`${message} ${JSON.stringify(fields)}`) },
    };
    const server = await listen(expressApp(express, options, (app) => app.use(express.json())));
    started.push(server);
    const base = server.baseUrl;
    const session = await send(`${base}/api/codex/session`, { method: "POST", headers: { origin: base } });
    const run = await loginAndRun(base, session);

    expect(run.status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/server's setup/);
    expect(lines[0]).toMatch(/mount createCodexRouter before express\.json\(\)/);
  });
});
