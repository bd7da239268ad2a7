/**
 * appServerRunner end to end: the real `codex app-server` (@openai/codex 0.169.0)
 * against the real simulator, through the real handler.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { textOf } from "../../../support/direct-harness.js";
import { findLeak, tokenWindows } from "../../../support/cli-harness.js";
import { signIn, startAppServerHarness, type AppServerHarness } from "../../../support/app-server-harness.js";

let h: AppServerHarness | undefined;
afterEach(async () => {
  const harness = h;
  h = undefined;
  if (!harness) return;
  await harness.close();
  expect(harness.processes()).toEqual([]);
});

describe("appServerRunner with the real codex app-server", { timeout: 60_000 }, () => {
  it("signs in with a device code, streams an answer in several deltas, and logout removes the home", async () => {
    h = await startAppServerHarness();
    const { client, sim } = h;
    const status = await signIn(h, client, { email: "ada@example.com", planType: "plus" });
    expect(status.account).toMatchObject({ email: "ada@example.com", planType: "plus" });
    const folders = readdirSync(h.homeRoot);
    expect(folders).toHaveLength(1);
    expect(statSync(join(h.homeRoot, folders[0]!)).mode & 0o777).toBe(0o700);

    const run = await client.run("Tell me about the several small words here");
    expect(run.status).toBe(200);
    const texts = run.events.filter((e) => e.type === "assistant-text");
    expect(texts.length).toBeGreaterThan(3);
    expect(textOf(run.events)).toBe("You said: Tell me about the several small words here");
    const done = run.events.at(-1);
    expect(done).toMatchObject({ type: "done", result: { usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } } });

    const out = await client.json("/logout", { method: "POST" });
    expect(out.status).toBe(200);
    expect(existsSync(join(h.homeRoot, folders[0]!))).toBe(false);
    expect(h.runner.processCount()).toBe(0);

    // The simulator answers everything the binary asked for but its per-turn user-settings read (shape unknown; 404 is ignored).
    expect(sim.stats().unknown.filter((call) => call !== "GET /backend-api/wham/settings/user")).toEqual([]);

    const windows = tokenWindows(sim);
    for (const text of [...client.seen.flatMap((s) => [s.headers, s.body]), ...h.logs]) expect(findLeak(text, windows)).toBeUndefined();
  });
});
