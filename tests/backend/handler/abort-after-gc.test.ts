/**
 * A client that goes away mid-run stops the run even after the garbage collector
 * ran: Node's Request follows its init signal through a weak reference, so the
 * handler must keep the Request (not only its signal) while the run streams.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/contract.js";
import { startHarness, type Harness } from "../../support/direct-harness.js";
import { waitFor } from "../../support/cli-harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("a run whose client goes away", { timeout: 30_000 }, () => {
  it("is stopped by the request's abort after collections", async () => {
    h = await startHarness();
    await h.client.signIn(h.sim);
    h.sim.fault("slow-stream", { delayMs: 100 });
    const controller = new AbortController();
    const response = await h.client.request("/run/stream", { method: "POST", body: { prompt: "one two three four five six seven eight nine ten" }, signal: controller.signal });
    const reader = response.body!.getReader();
    const events: RunEvent[] = [];
    let buffer = "";
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += new TextDecoder().decode(value);
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) events.push(JSON.parse(line) as RunEvent);
      }
    })();
    await waitFor(() => events.some((e) => e.type === "assistant-text"), 10_000, "the first delta");
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort();
    await reading;
    expect(events.some((e) => e.type === "done")).toBe(false);
    expect(events.length).toBeLessThan(8);
  });
});
