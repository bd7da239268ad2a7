/**
 * cliRunner sweeping the folders of sessions that expired without a logout. Folders are
 * made by hand under a temp homeRoot (with their mtimes set), the runner is driven through
 * its public API on an injected clock, and live children come from a small stand-in CLI
 * (through `wrap`) that prints a login code, or starts a turn, and then waits.
 */
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliRunner, type CliRunner, type CliRunnerOptions } from "../../../../src/backend/cli.js";
import type { RunnerContext } from "../../../../src/backend/runners/types.js";
import { cleanUpCliRunnerAfterEach, processesMatching } from "../../../support/cli-harness.js";

const DAY = 24 * 60 * 60 * 1000;
const jwt = (payload: object) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.c2ln`;
const TOKENS = { id_token: jwt({ email: "ann@example.com" }), access_token: jwt({ sub: "u" }), refresh_token: "rt_0123456789abcdef" };

/** A CLI whose login prints a code and then waits, and whose exec starts a turn and then waits. */
const FAKE = `
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "login") {
  const issuer = rest[rest.indexOf("--experimental_issuer") + 1];
  process.stdout.write(issuer + "/codex/device\\n   WXYZ-12345\\n");
} else if (cmd === "exec") {
  process.stdout.write(JSON.stringify({ type: "thread.started", thread_id: "t" }) + "\\n");
}
setInterval(() => {}, 1000);
`;

let dir: string | undefined;
let runner: CliRunner | undefined;
cleanUpCliRunnerAfterEach(
  () => ({ dir, runner }),
  () => {
    dir = undefined;
    runner = undefined;
  },
);

interface Setup {
  homeRoot: string;
  clock: { now: number };
  logs: string[];
  make(options?: CliRunnerOptions): CliRunner;
}

function setup(): Setup {
  dir = mkdtempSync(join(tmpdir(), "cli-sweep-"));
  const fake = join(dir, "fake-codex.cjs");
  writeFileSync(fake, FAKE);
  const homeRoot = join(dir, "homes");
  mkdirSync(homeRoot, { mode: 0o700 });
  const clock = { now: Date.now() };
  const logs: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>) => logs.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return {
    homeRoot,
    clock,
    logs,
    make(options = {}) {
      runner = cliRunner({
        homeRoot,
        issuer: "https://auth.example",
        codexPath: fake,
        wrap: (command, args) => [process.execPath, [command, ...args]],
        timeouts: { loginStartMs: 5_000, killGraceMs: 300 },
        now: () => clock.now,
        sweepIntervalMs: 0,
        logger: { warn: log, error: log, info: log },
        ...options,
      });
      return runner;
    },
  };
}

const newName = () => `s-${randomBytes(16).toString("hex")}`;

/** A session folder as the runner leaves it (auth.json, work/), last used `ageMs` before `now`. */
function folder(root: string, now: number, ageMs: number, name = newName()): string {
  const home = join(root, name);
  mkdirSync(join(home, "work"), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "auth.json"), JSON.stringify({ auth_mode: "chatgpt", tokens: TOKENS }));
  const at = (now - ageMs) / 1000;
  utimesSync(home, at, at);
  return name;
}

const ctxFor = (name: string): RunnerContext => ({ id: `id-${name}`, data: { cli: { home: name } } });
const ageOf = (root: string, name: string, now: number) => now - statSync(join(root, name)).mtimeMs;

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe("cliRunner sweeps abandoned session folders", { timeout: 20_000 }, () => {
  it("removes a folder unused for longer than maxSessionAgeMs and keeps a fresh one", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const old = folder(homeRoot, clock.now, 7 * DAY + 60_000);
    const fresh = folder(homeRoot, clock.now, 6 * DAY);
    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, old))).toBe(false);
    expect(existsSync(join(homeRoot, fresh, "auth.json"))).toBe(true);
    // The clock moves on: the once-fresh folder is abandoned too.
    clock.now += 2 * DAY;
    expect(await r.sweep()).toBe(1);
    expect(readdirSync(homeRoot)).toEqual([]);
  });

  it("honours maxSessionAgeMs set to the session store's absolute timeout", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make({ maxSessionAgeMs: DAY });
    await r.sweep();
    const old = folder(homeRoot, clock.now, DAY + 1_000);
    const fresh = folder(homeRoot, clock.now, DAY - 60_000);
    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, old))).toBe(false);
    expect(existsSync(join(homeRoot, fresh))).toBe(true);
  });

  it("keeps a folder the session used (status, run, login), touching it at most once a minute", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const name = folder(homeRoot, clock.now, 8 * DAY);
    expect(await r.getStatus(ctxFor(name))).toMatchObject({ status: "authenticated", account: { email: "ann@example.com" } });
    expect(ageOf(homeRoot, name, clock.now)).toBeLessThan(1_000);
    expect(await r.sweep()).toBe(0);
    expect(existsSync(join(homeRoot, name, "auth.json"))).toBe(true);

    // Thirty seconds later another use does not write again.
    clock.now += 30_000;
    await r.getStatus(ctxFor(name));
    expect(ageOf(homeRoot, name, clock.now)).toBeGreaterThanOrEqual(29_000);

    // A run (refused at once: the model name is invalid) is a use as well.
    clock.now += 6 * DAY;
    for await (const event of r.run(ctxFor(name), "hi", new AbortController().signal, { model: "-bad" })) {
      expect(event).toMatchObject({ type: "error", code: "MODEL_NOT_AVAILABLE" });
    }
    expect(ageOf(homeRoot, name, clock.now)).toBeLessThan(1_000);
    clock.now += 6 * DAY;
    expect(await r.startDeviceLogin(ctxFor(name))).toMatchObject({ status: "authenticated" });
    clock.now += 6 * DAY;
    expect(await r.sweep()).toBe(0);

    // Unused for over the limit since: gone.
    clock.now += 2 * DAY;
    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, name))).toBe(false);
  });

  it("leaves symlinks, plain files and foreign names alone", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const old = (clock.now - 30 * DAY) / 1000;
    const outside = join(dir!, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "keep.txt"), "precious");
    utimesSync(outside, old, old);
    const link = newName();
    symlinkSync(outside, join(homeRoot, link));
    const file = newName();
    writeFileSync(join(homeRoot, file), "not a folder");
    utimesSync(join(homeRoot, file), old, old);
    const foreign = ["notes", `S-${"A".repeat(32)}`, `s-${"a".repeat(31)}`, `s-${"a".repeat(32)}x`, `x-${"a".repeat(32)}`];
    for (const name of foreign) folder(homeRoot, clock.now, 30 * DAY, name);
    const swept = folder(homeRoot, clock.now, 30 * DAY);

    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, swept))).toBe(false);
    expect(lstatSync(join(homeRoot, link)).isSymbolicLink()).toBe(true);
    expect(readdirSync(outside)).toEqual(["keep.txt"]);
    expect(statSync(join(homeRoot, file)).isFile()).toBe(true);
    for (const name of foreign) expect(existsSync(join(homeRoot, name, "auth.json"))).toBe(true);
  });

  it("refuses to sweep a home root that is a symlink, and logs the failure of the start-up sweep without a path", async () => {
    const { homeRoot, clock, logs, make } = setup();
    rmSync(homeRoot, { recursive: true });
    const elsewhere = join(dir!, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o700 });
    const name = folder(elsewhere, clock.now, 30 * DAY);
    symlinkSync(elsewhere, homeRoot);
    const r = make();
    await expect(r.sweep()).rejects.toMatchObject({ code: "INTERNAL" });
    expect(existsSync(join(elsewhere, name, "auth.json"))).toBe(true);
    await until(() => logs.length > 0);
    expect(logs[0]).toMatch(/sweep failed.*"code":"INTERNAL"/);
    expect(logs.join("\n")).not.toContain(dir!);
  });

  it("keeps a folder whose login child is still running, and sweeps it once the child is gone", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const ctx: RunnerContext = { id: "login", data: {} };
    expect(await r.startDeviceLogin(ctx)).toMatchObject({ status: "started", userCode: "WXYZ-12345" });
    const name = (ctx.data.cli as { home: string }).home;
    clock.now += 30 * DAY;
    expect(await r.sweep()).toBe(0);
    expect(existsSync(join(homeRoot, name))).toBe(true);
    expect(processesMatching(dir!).length).toBeGreaterThan(0);

    await r.close();
    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, name))).toBe(false);
  });

  it("keeps a folder whose run child is still running", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const name = folder(homeRoot, clock.now, 0);
    const abort = new AbortController();
    const events = r.run(ctxFor(name), "hello", abort.signal)[Symbol.asyncIterator]();
    const first = events.next();
    await until(() => processesMatching(dir!).length > 0);
    clock.now += 30 * DAY;
    expect(await r.sweep()).toBe(0);
    expect(existsSync(join(homeRoot, name, "auth.json"))).toBe(true);

    abort.abort();
    expect(await first).toMatchObject({ done: true });
    await until(() => processesMatching(dir!).length === 0);
    expect(await r.sweep()).toBe(1);
    expect(existsSync(join(homeRoot, name))).toBe(false);
  });

  it("looks at most at 1,000 entries per sweep and goes on from there next time", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make();
    await r.sweep();
    const names = Array.from({ length: 1_003 }, () => folder(homeRoot, clock.now, 8 * DAY));
    expect(await r.sweep()).toBe(1_000);
    expect(readdirSync(homeRoot)).toHaveLength(3);
    expect(await r.sweep()).toBe(3);
    for (const name of names) expect(existsSync(join(homeRoot, name))).toBe(false);
  });

  it("covers a root of mostly fresh folders over several small batches", async () => {
    const { homeRoot, clock, make } = setup();
    const r = make({ sweepBatchSize: 4 });
    await r.sweep();
    const fresh = Array.from({ length: 9 }, () => folder(homeRoot, clock.now, DAY));
    const old = Array.from({ length: 5 }, () => folder(homeRoot, clock.now, 8 * DAY));
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) counts.push(await r.sweep());
    for (const count of counts) expect(count).toBeLessThanOrEqual(4);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
    for (const name of old) expect(existsSync(join(homeRoot, name))).toBe(false);
    expect(readdirSync(homeRoot).sort()).toEqual([...fresh].sort());
  });

  it("sweeps at construction and then on an unref'd timer that close() stops", async () => {
    const { homeRoot, clock, make } = setup();
    const atStart = folder(homeRoot, clock.now, 8 * DAY);
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    const r = make({ sweepIntervalMs: 50 });
    // The interval holds no reference: it would not keep the process alive.
    expect(timers()).toBe(before);
    await until(() => !existsSync(join(homeRoot, atStart)));

    const later = folder(homeRoot, clock.now, 8 * DAY);
    await until(() => !existsSync(join(homeRoot, later)));

    await r.close();
    const afterClose = folder(homeRoot, clock.now, 8 * DAY);
    await new Promise((done) => setTimeout(done, 300));
    expect(existsSync(join(homeRoot, afterClose, "auth.json"))).toBe(true);
  });

  it("rejects a bad sweep option", () => {
    expect(() => cliRunner({ maxSessionAgeMs: 0 })).toThrow(TypeError);
    expect(() => cliRunner({ sweepIntervalMs: -1 })).toThrow(TypeError);
    expect(() => cliRunner({ sweepIntervalMs: 30 * DAY })).toThrow(TypeError);
    expect(() => cliRunner({ sweepBatchSize: 0.5 })).toThrow(TypeError);
  });
});
