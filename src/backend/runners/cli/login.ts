/**
 * The device login through `codex login --device-auth`: one child per session,
 * kept running in the background while the user approves; its exit is the outcome.
 */
import { CodexError } from "../../core/errors.js";
import { MAX_LOGIN_URL_CHARS } from "../../routes/login-result.js";
import type { DeviceLoginResult, RunnerContext, RunnerStatus } from "../types.js";
import { ensureHome, homePath, newHomeName, readAccount, readState, writeState, type CliSessionState } from "./home.js";
import { cliEnv, loginArgs, type ResolvedCliOptions } from "./options.js";
import { spawnCli, type CliProcess } from "./spawn.js";
import { stderrSummary, stripControl } from "./stderr.js";

type Outcome = "authenticated" | "expired" | "denied";

interface Entry {
  name: string;
  proc: CliProcess;
  loginUrl: string;
  userCode: string;
  expiresAt: number;
  outcome?: Outcome;
}

/** How long a finished login is remembered for late status calls. */
const KEEP_FINISHED_MS = 60_000;
const CODE = /\b([A-Z0-9]{4}-[A-Z0-9]{4,6})\b/;
const URL_LINE = /\bhttps?:\/\/[^\s'"<>]+/g;

export class DeviceLogins {
  readonly #entries = new Map<string, Entry>();
  readonly #starting = new Map<string, Promise<Entry>>();
  readonly #opts: ResolvedCliOptions;
  readonly #onSpawn: (name: string, proc: CliProcess) => void;

  /** `onSpawn` learns of each login child and the folder it works in (the sweep spares that folder). */
  constructor(opts: ResolvedCliOptions, onSpawn: (name: string, proc: CliProcess) => void = () => undefined) {
    this.#opts = opts;
    this.#onSpawn = onSpawn;
  }

  async start(ctx: RunnerContext): Promise<DeviceLoginResult> {
    const state = readState(ctx.data);
    let entry = this.#entries.get(ctx.id);
    const name = state?.home ?? entry?.name ?? newHomeName();
    const account = readAccount(homePath(this.#opts.homeRoot, name));
    if (account) {
      writeState(ctx.data, { home: name });
      return { status: "authenticated", account };
    }
    if (!entry?.proc.running() || this.#opts.now() >= (entry?.expiresAt ?? 0)) {
      // Concurrent starts of one session share one child.
      let flight = this.#starting.get(ctx.id);
      if (!flight) {
        const previous = entry;
        this.#entries.delete(ctx.id);
        if (previous) void previous.proc.stop(this.#opts.timeouts.killGraceMs);
        flight = this.#launch(ctx.id, name);
        this.#starting.set(ctx.id, flight);
        const clear = () => this.#starting.delete(ctx.id);
        flight.then(clear, clear);
      }
      entry = await flight;
    }
    writeState(ctx.data, { home: entry.name, login: { expiresAt: entry.expiresAt } });
    return { status: "started", loginUrl: entry.loginUrl, userCode: entry.userCode, expiresAt: entry.expiresAt };
  }

  status(ctx: RunnerContext): RunnerStatus {
    const state = readState(ctx.data);
    const entry = this.#entries.get(ctx.id);
    const name = state?.home ?? entry?.name;
    if (!name) return { status: "logged_out" };
    if (entry && entry.name === name) {
      if (entry.proc.running()) {
        if (this.#opts.now() < entry.expiresAt) return { status: "pending" };
        entry.outcome = "expired";
        void entry.proc.stop(this.#opts.timeouts.killGraceMs);
      }
      if (entry.outcome === "expired" || entry.outcome === "denied") return this.#failed(ctx, name, entry.outcome);
    }
    const account = readAccount(homePath(this.#opts.homeRoot, name));
    if (account) {
      writeState(ctx.data, { home: name });
      return { status: "authenticated", account };
    }
    // A login whose child this process no longer has (a restart): it cannot finish any more.
    if (state?.login) return this.#failed(ctx, name, state.login.outcome ?? "expired");
    return { status: "logged_out" };
  }

  /** Kill the session's login child, if any (one still starting included), and forget it. */
  async stop(id: string): Promise<void> {
    await this.#starting.get(id)?.catch(() => undefined);
    const entry = this.#entries.get(id);
    this.#entries.delete(id);
    if (entry) await entry.proc.stop(this.#opts.timeouts.killGraceMs);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((id) => this.stop(id)));
  }

  #failed(ctx: RunnerContext, name: string, outcome: "expired" | "denied"): RunnerStatus {
    const state: CliSessionState = { home: name, login: { expiresAt: 0, outcome } };
    writeState(ctx.data, state);
    return { status: outcome };
  }

  async #launch(id: string, name: string): Promise<Entry> {
    const { home, work } = ensureHome(this.#opts.homeRoot, name);
    const context = { paths: [home] };
    let proc: CliProcess;
    try {
      proc = spawnCli(this.#opts, loginArgs(this.#opts), cliEnv(this.#opts, home), work);
    } catch {
      throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex CLI could not be started.");
    }
    this.#onSpawn(name, proc);
    const printed = await this.#waitForCode(proc);
    if (!printed) {
      await proc.stop(this.#opts.timeouts.killGraceMs);
      throw new CodexError("UPSTREAM_TIMEOUT", "The codex CLI did not print a login code in time.");
    }
    if ("exit" in printed) {
      const output = stripControl(`${proc.stdout()}\n${proc.stderr()}`);
      if (/device code login is not enabled/i.test(output)) {
        throw new CodexError(
          "DEVICE_AUTH_NOT_ENABLED",
          "Device code sign-in is not enabled for this ChatGPT account (ChatGPT → Settings → Security & Login).",
        );
      }
      if (printed.exit.error) throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex CLI could not be started.");
      const detail = stderrSummary(proc.stderr(), context);
      throw new CodexError("UPSTREAM_UNAVAILABLE", `The codex CLI could not start a login${detail ? `: ${detail}` : "."}`);
    }
    const loginUrl = checkLoginUrl(printed.url, this.#opts.issuer);
    if (!loginUrl) {
      await proc.stop(this.#opts.timeouts.killGraceMs);
      throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex CLI printed an unexpected login address.");
    }
    const entry: Entry = { name, proc, loginUrl, userCode: printed.code, expiresAt: this.#opts.now() + this.#opts.timeouts.loginMs };
    this.#entries.set(id, entry);
    // The upstream code dies after its lifetime: so does the child.
    const expiry = setTimeout(() => {
      if (!proc.running()) return;
      entry.outcome = "expired";
      void proc.stop(this.#opts.timeouts.killGraceMs);
    }, this.#opts.timeouts.loginMs);
    expiry.unref();
    void proc.exited.then((exit) => {
      clearTimeout(expiry);
      entry.outcome ??= exit.code === 0 ? "authenticated" : /denied|declined|rejected/i.test(stripControl(proc.stderr())) ? "denied" : "expired";
      const forget = setTimeout(() => {
        if (this.#entries.get(id) === entry) this.#entries.delete(id);
      }, KEEP_FINISHED_MS);
      forget.unref();
    });
    return entry;
  }

  /** The URL and code once both are on stdout; the exit if it came first; undefined on timeout. */
  #waitForCode(proc: CliProcess): Promise<{ url: string; code: string } | { exit: Awaited<CliProcess["exited"]> } | undefined> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const text = stripControl(proc.stdout());
        const code = CODE.exec(text)?.[1];
        const urls = text.match(URL_LINE) ?? [];
        const url = urls.find((u) => /\/codex\/device\/?$/.test(u)) ?? urls[0];
        if (!code || !url) return false;
        finish({ url, code });
        return true;
      };
      const timer = setTimeout(() => finish(undefined), this.#opts.timeouts.loginStartMs);
      let settled = false;
      const finish = (value: Parameters<typeof resolve>[0]) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      };
      proc.onStdout(check);
      void proc.exited.then((exit) => {
        if (!check()) finish({ exit });
      });
      check();
    });
  }
}

/** https (or the configured issuer's own origin, e.g. a local simulator), at most 2 KB; nothing else is handed to a browser. */
export function checkLoginUrl(text: string, issuer: string | undefined): string | undefined {
  if (text.length > MAX_LOGIN_URL_CHARS) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (issuer) return url.origin === new URL(issuer).origin ? url.href : undefined;
  return url.protocol === "https:" ? url.href : undefined;
}
