import { describe, expect, it } from "vitest";
import { createCodexHandler, type CodexHandler } from "../../../src/backend/core/handler.js";
import type { CodexHandlerOptions } from "../../../src/backend/core/options.js";
import { createRedisSessionStore } from "../../../src/backend/sessions/redis-store.js";
import { Browser, readEvents, SECRET } from "../../support/handler-harness.js";
import { useRedis } from "../../support/redis-server.js";
import { createTestRunner, SECRET_STRINGS, type TestRunner } from "../../support/test-runner.js";

const redis = useRedis();

/** Two "processes": two handlers sharing one Redis for sessions and rate limits. */
function twoInstances(runner: TestRunner, rateLimits: CodexHandlerOptions["rateLimits"], prefix: string): [CodexHandler, CodexHandler] {
  const make = () =>
    createCodexHandler({
      runner,
      cookieSecret: SECRET,
      sessionStore: createRedisSessionStore({ client: redis.client, prefix: `${prefix}:session:` }),
      rateLimits,
    });
  return [make(), make()];
}

describe("the handler over a shared Redis", () => {
  it("shares sessions across instances: sign in on one, run on the other, and the old cookie is rotated for both", async () => {
    const runner = createTestRunner();
    const [a, b] = twoInstances(runner, false, "t1");
    const onA = new Browser(a);
    await onA.post("/session");
    await onA.post("/login/start");
    const before = onA.cookie;
    runner.approve();
    expect((await onA.get("/status")).status).toBe(200);

    const onB = new Browser(b);
    onB.cookie = onA.cookie;
    expect(await readEvents(await onB.post("/run/stream", { prompt: "hi" }))).toContainEqual(expect.objectContaining({ type: "done" }));
    const stale = new Browser(b);
    stale.cookie = before;
    expect((await stale.get("/status")).status).toBe(409);

    const keys = await redis.client.keys("t1:*");
    const raw = JSON.stringify(await Promise.all(keys.map((k) => redis.client.hGetAll(k))));
    expect(SECRET_STRINGS.filter((s) => raw.includes(s))).toEqual([]);
  });

  it("shares rate limits across instances through rate-limiter-flexible's Redis store", async () => {
    const runner = createTestRunner();
    const rateLimits = { storeClient: redis.client, useRedisPackage: true, sessionCreatePerIp: { points: 3, durationSec: 60 } };
    const [a, b] = twoInstances(runner, rateLimits, "t2");
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    expect((await new Browser(a, ip).post("/session")).status).toBe(200);
    expect((await new Browser(b, ip).post("/session")).status).toBe(200);
    expect((await new Browser(a, ip).post("/session")).status).toBe(200);
    const limited = await new Browser(b, ip).post("/session");
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    expect((await redis.client.keys("codex-auth:sessionCreatePerIp*")).length).toBeGreaterThan(0);
  });
});
