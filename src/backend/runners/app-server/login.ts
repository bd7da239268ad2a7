/**
 * The device login through the app-server: `account/login/start` with
 * `chatgptDeviceCode` in the session's own process, which polls upstream
 * itself; `account/login/completed` is the outcome and `account/read` the
 * account. The process is held while the login is pending.
 */
import type { Account } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { newHomeName } from "../cli/home.js";
import { checkLoginUrl } from "../cli/login.js";
import { sanitizeCliText } from "../cli/stderr.js";
import type { DeviceLoginResult, RunnerContext, RunnerStatus } from "../types.js";
import type { ResolvedAppServerOptions } from "./options.js";
import type { AccountLoginCompletedNotification } from "./protocol/v2/AccountLoginCompletedNotification";
import type { AppServerPool, Lease } from "./pool.js";
import { RpcError, type RpcConnection } from "./rpc.js";
import { readState, writeState } from "./state.js";

type Outcome = "authenticated" | "expired" | "denied";

interface Entry {
  name: string;
  loginId: string;
  lease: Lease;
  expiresAt: number;
  outcome?: Outcome;
  account?: Account;
  /** Ends the login's hold on the process, its listener and its timer. */
  end(): void;
}

/** How long a finished login is remembered for late status calls. */
const KEEP_FINISHED_MS = 60_000;

/** The account fields `Account` allows, from `account/read`; undefined when the process has no ChatGPT login. */
export async function readAccount(rpc: RpcConnection): Promise<Account | undefined> {
  const { account } = await rpc.request("account/read", { refreshToken: false });
  if (!account || account.type !== "chatgpt") return undefined;
  return { email: account.email, planType: account.planType };
}

export class AppServerLogins {
  readonly #opts: ResolvedAppServerOptions;
  readonly #pool: AppServerPool;
  readonly #entries = new Map<string, Entry>();
  /** One start at a time per session: a second click waits for the first, then starts over. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(opts: ResolvedAppServerOptions, pool: AppServerPool) {
    this.#opts = opts;
    this.#pool = pool;
  }

  start(ctx: RunnerContext): Promise<DeviceLoginResult> {
    const previous = this.#chains.get(ctx.id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#start(ctx));
    this.#chains.set(ctx.id, next);
    const clear = () => {
      if (this.#chains.get(ctx.id) === next) this.#chains.delete(ctx.id);
    };
    next.then(clear, clear);
    return next;
  }

  status(ctx: RunnerContext): RunnerStatus {
    const state = readState(ctx.data);
    if (state?.account) return { status: "authenticated", account: state.account };
    const entry = this.#entries.get(ctx.id);
    if (entry && (!state || entry.name === state.home)) {
      if (entry.outcome === "authenticated" && entry.account) {
        writeState(ctx.data, { home: entry.name, account: entry.account });
        return { status: "authenticated", account: entry.account };
      }
      if (entry.outcome === undefined && this.#opts.now() >= entry.expiresAt) this.#finish(ctx.id, entry, "expired", true);
      if (entry.outcome === undefined) return { status: "pending" };
      if (entry.outcome !== "authenticated") return this.#failed(ctx, entry.name, entry.outcome);
    }
    // A login whose process this server no longer has (a restart): it cannot finish any more.
    if (state?.login) return this.#failed(ctx, state.home, state.login.outcome ?? "expired");
    return { status: "logged_out" };
  }

  /** The session's login ended elsewhere (a run found it revoked): a finished sign-in must not be reported again. */
  forget(id: string): void {
    const entry = this.#entries.get(id);
    if (entry?.outcome !== undefined) this.#entries.delete(id);
  }

  /** Cancel the session's pending login, if any, and forget it. */
  async stop(id: string): Promise<void> {
    await this.#chains.get(id)?.catch(() => undefined);
    await this.#end(id);
  }

  async #end(id: string): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    if (entry.outcome === undefined) await this.#cancel(entry);
    entry.end();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((id) => this.stop(id)));
  }

  async #start(ctx: RunnerContext): Promise<DeviceLoginResult> {
    const state = readState(ctx.data);
    if (state?.account) return { status: "authenticated", account: state.account };
    // Start over: the pending login ends before the new one begins.
    await this.#end(ctx.id);
    const name = state?.home ?? newHomeName();
    const lease = await this.#pool.acquire(name);
    const { rpc } = lease.server;
    let entry: Entry | undefined;
    try {
      const signedIn = await readAccount(rpc);
      if (signedIn) {
        writeState(ctx.data, { home: name, account: signedIn });
        return { status: "authenticated", account: signedIn };
      }
      // Listen before asking, so that a completion can never arrive unheard.
      const early: AccountLoginCompletedNotification[] = [];
      let onCompleted = (note: AccountLoginCompletedNotification) => void early.push(note);
      const unlisten = rpc.listen((note) => {
        if (note.method === "account/login/completed") onCompleted(note.params);
      });
      let started;
      try {
        started = await rpc.request("account/login/start", { type: "chatgptDeviceCode" });
      } catch (error) {
        unlisten();
        throw loginStartError(error, lease.server.home);
      }
      const loginUrl = started.type === "chatgptDeviceCode" ? checkLoginUrl(started.verificationUrl, this.#opts.issuer) : undefined;
      if (started.type !== "chatgptDeviceCode" || !loginUrl) {
        unlisten();
        throw new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server gave an unexpected login address.");
      }
      const expiresAt = this.#opts.now() + this.#opts.timeouts.loginMs;
      const timer = setTimeout(() => {
        if (current.outcome === undefined) this.#finish(ctx.id, current, "expired", true);
      }, this.#opts.timeouts.loginMs);
      timer.unref();
      const current: Entry = {
        name,
        loginId: started.loginId,
        lease,
        expiresAt,
        end: () => {
          clearTimeout(timer);
          unlisten();
          lease.release();
        },
      };
      entry = current;
      this.#entries.set(ctx.id, current);
      onCompleted = (note) => {
        if (note.loginId === current.loginId) void this.#completed(ctx.id, current, note.success, note.error);
      };
      for (const note of early) onCompleted(note);
      writeState(ctx.data, { home: name, login: { expiresAt } });
      return { status: "started", loginUrl, userCode: started.userCode, expiresAt };
    } finally {
      if (!entry) lease.release();
    }
  }

  async #completed(id: string, entry: Entry, success: boolean, error: string | null): Promise<void> {
    if (entry.outcome !== undefined) return;
    if (!success) {
      this.#finish(id, entry, /denied|declined|rejected|access_denied/i.test(error ?? "") ? "denied" : "expired", false);
      return;
    }
    try {
      entry.account = await readAccount(entry.lease.server.rpc);
    } catch {
      entry.account = undefined;
    }
    this.#finish(id, entry, entry.account ? "authenticated" : "expired", false);
  }

  /** Record the outcome, let go of the process, and forget the entry a minute later. */
  #finish(id: string, entry: Entry, outcome: Outcome, cancel: boolean): void {
    if (entry.outcome !== undefined) return;
    entry.outcome = outcome;
    const done = cancel ? this.#cancel(entry) : Promise.resolve();
    void done.then(() => entry.end());
    const forget = setTimeout(() => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
    }, KEEP_FINISHED_MS);
    forget.unref();
  }

  async #cancel(entry: Entry): Promise<void> {
    try {
      await entry.lease.server.rpc.request("account/login/cancel", { loginId: entry.loginId });
    } catch {
      // The process is gone or the login already ended: nothing left to cancel.
    }
  }

  #failed(ctx: RunnerContext, name: string, outcome: "expired" | "denied"): RunnerStatus {
    writeState(ctx.data, { home: name, login: { expiresAt: 0, outcome } });
    return { status: outcome };
  }
}

function loginStartError(error: unknown, home: string): CodexError {
  if (error instanceof CodexError) return error;
  const message = error instanceof RpcError ? error.message : "";
  if (/device code login is not enabled/i.test(message)) {
    return new CodexError(
      "DEVICE_AUTH_NOT_ENABLED",
      "Device code sign-in is not enabled for this ChatGPT account (ChatGPT → Settings → Security & Login).",
    );
  }
  const detail = sanitizeCliText(message, { paths: [home] });
  return new CodexError("UPSTREAM_UNAVAILABLE", `The codex app-server could not start a login${detail ? `: ${detail}` : "."}`);
}
