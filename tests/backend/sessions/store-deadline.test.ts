import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError, TimeoutError } from "redis";
import { describe, expect, it } from "vitest";
import { CodexError } from "../../../src/backend/core/errors.js";
import { createStoreDeadline, isStoreOutage } from "../../../src/backend/sessions/store-deadline.js";

describe("isStoreOutage", () => {
  it("reads node-redis's connection errors and Redis's 'not now' replies as an outage", () => {
    const outages = [
      new ClientClosedError(),
      new ClientOfflineError(),
      new SocketClosedUnexpectedlyError(),
      new ConnectionTimeoutError(),
      new TimeoutError(),
      new Error("The queue is full"),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" }),
      new ErrorReply("LOADING Redis is loading the dataset in memory"),
      new ErrorReply("READONLY You can't write against a read only replica."),
      new ErrorReply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
      new ErrorReply("BUSY Redis is busy running a script."),
      new Error("Redis connection is not ready"), // rate-limiter-flexible's rejectIfRedisNotReady
    ];
    expect(outages.filter((error) => !isStoreOutage(error)).map((error) => error.message)).toEqual([]);
  });

  it("keeps a fault of ours a fault: other Redis replies, programming errors, non-errors", () => {
    const faults: unknown[] = [
      new ErrorReply("ERR Error running script (call to f_0123): @user_script:1: bad argument"),
      new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"),
      new TypeError("client.evalSha is not a function"),
      "a string",
      undefined,
      new CodexError("INTERNAL", "Something else."),
    ];
    expect(faults.filter((error) => isStoreOutage(error))).toEqual([]);
  });
});

describe("createStoreDeadline", () => {
  it("refuses at once, without calling the store, while the client says it is not ready", async () => {
    const deadline = createStoreDeadline({ timeoutMs: 50, client: { isReady: false } });
    let sent = 0;
    const failure = await deadline.run(async () => ++sent).catch((error: unknown) => error);
    expect([sent, failure instanceof CodexError && failure.code, failure instanceof CodexError && failure.status]).toEqual([0, "STORE_UNAVAILABLE", 503]);
  });

  it("answers STORE_UNAVAILABLE at the deadline, aborts the call's signal and drops the late reply", async () => {
    const deadline = createStoreDeadline({ timeoutMs: 30 });
    let signal: AbortSignal | undefined;
    let reply!: (value: string) => void;
    const started = performance.now();
    const failure = await deadline
      .run((callSignal) => {
        signal = callSignal;
        return new Promise<string>((resolve) => (reply = resolve));
      })
      .catch((error: unknown) => error);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(failure).toMatchObject({ code: "STORE_UNAVAILABLE", details: { retryAfter: 1 } });
    expect(signal?.aborted).toBe(true);
    reply("late"); // nothing to resolve any more, nothing thrown
  });

  it("passes the store's own answer and non-outage errors through unchanged", async () => {
    const deadline = createStoreDeadline({ timeoutMs: 1000 });
    expect(await deadline.run(async () => "ok")).toBe("ok");
    const wrongType = new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value");
    expect(await deadline.run(() => Promise.reject(wrongType)).catch((error: unknown) => error)).toBe(wrongType);
    const closed = new ClientClosedError();
    expect(await deadline.run(() => Promise.reject(closed)).catch((error: unknown) => error)).toMatchObject({ code: "STORE_UNAVAILABLE", cause: closed });
  });
});
