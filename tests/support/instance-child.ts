/**
 * One backend instance as its own process, for the tests that kill one
 * mid-run: a handler with the Redis session store and a directRunner. It
 * starts a run for the session named by CODEX_COOKIE, reads its first line,
 * prints "streaming <status>" and then just stays alive (renewing the run's
 * lease) until it is killed.
 *
 * Env: REDIS_URL, REDIS_PREFIX, SIM_URL, CODEX_COOKIE, COOKIE_SECRET.
 */
import { createClient } from "redis";
import { createCodexHandler } from "../../src/backend/core/handler.js";
import { directRunner } from "../../src/backend/direct.js";
import { createRedisSessionStore } from "../../src/backend/redis.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`instance-child: ${name} is not set`);
  return value;
};

const client = await createClient({ url: env("REDIS_URL") }).connect();
const simUrl = env("SIM_URL");
const handler = createCodexHandler({
  runner: directRunner({ issuer: simUrl, backendBaseUrl: `${simUrl}/backend-api` }),
  cookieSecret: env("COOKIE_SECRET"),
  cookieOptions: { secure: false },
  rateLimits: false,
  sessionStore: createRedisSessionStore({ client, prefix: env("REDIS_PREFIX") }),
});
const response = await handler(
  new Request("http://app.test/api/codex/run/stream", {
    method: "POST",
    headers: { origin: "http://app.test", "sec-fetch-site": "same-origin", "content-type": "application/json", cookie: env("CODEX_COOKIE") },
    body: JSON.stringify({ prompt: "a long one" }),
  }),
);
const reader = response.body?.getReader();
await reader?.read();
process.stdout.write(`streaming ${response.status}\n`);
// Stay alive without reading further: the run stays in flight and its lease keeps being renewed.
setInterval(() => undefined, 60_000);
