/**
 * JSON-RPC with one `codex app-server` process over its stdio: one JSON object
 * per line, without the "jsonrpc" field. Requests are typed from the protocol
 * generated from the pinned binary (./protocol); every request has a deadline.
 */
import { CodexError } from "../../core/errors.js";
import { asRecord } from "../../core/json.js";
import type { CliProcess } from "../cli/spawn.js";
import type { ClientRequest } from "./protocol/ClientRequest";
import type { InitializeResponse } from "./protocol/InitializeResponse";
import type { ServerNotification } from "./protocol/ServerNotification";
import type { CancelLoginAccountResponse } from "./protocol/v2/CancelLoginAccountResponse";
import type { GetAccountRateLimitsResponse } from "./protocol/v2/GetAccountRateLimitsResponse";
import type { GetAccountResponse } from "./protocol/v2/GetAccountResponse";
import type { LoginAccountResponse } from "./protocol/v2/LoginAccountResponse";
import type { LogoutAccountResponse } from "./protocol/v2/LogoutAccountResponse";
import type { ThreadStartResponse } from "./protocol/v2/ThreadStartResponse";
import type { TurnInterruptResponse } from "./protocol/v2/TurnInterruptResponse";
import type { TurnStartResponse } from "./protocol/v2/TurnStartResponse";

/** The results of the requests this runner sends (the generated protocol has no request→result map). */
interface Results {
  initialize: InitializeResponse;
  "account/read": GetAccountResponse;
  "account/login/start": LoginAccountResponse;
  "account/login/cancel": CancelLoginAccountResponse;
  "account/logout": LogoutAccountResponse;
  "account/rateLimits/read": GetAccountRateLimitsResponse;
  "thread/start": ThreadStartResponse;
  "turn/start": TurnStartResponse;
  "turn/interrupt": TurnInterruptResponse;
}

export type Method = keyof Results & ClientRequest["method"];
export type ParamsOf<M extends Method> = Extract<ClientRequest, { method: M }>["params"];
export type Notification = ServerNotification;

/** A JSON-RPC error answer, kept as a value: its message is the binary's own words (sanitise before it leaves). */
export class RpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** -32601: what this client answers to every request the server makes (approvals, tool calls): it asks for none. */
const METHOD_NOT_FOUND = -32601;

export class RpcConnection {
  readonly #proc: CliProcess;
  readonly #requestMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(note: Notification) => void>();
  readonly #closeListeners = new Set<() => void>();
  #nextId = 1;
  #closed = false;

  constructor(proc: CliProcess, requestMs: number) {
    this.#proc = proc;
    this.#requestMs = requestMs;
    proc.onLine((line) => this.#receive(line));
    void proc.exited.then(() => {
      this.#closed = true;
      for (const listener of this.#closeListeners) listener();
      this.#closeListeners.clear();
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer);
        pending.reject(new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server stopped."));
        this.#pending.delete(id);
      }
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  request<M extends Method>(method: M, params: ParamsOf<M>, timeoutMs = this.#requestMs): Promise<Results[M]> {
    if (this.#closed) return Promise.reject(new CodexError("UPSTREAM_UNAVAILABLE", "The codex app-server stopped."));
    const id = this.#nextId++;
    return new Promise<Results[M]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CodexError("UPSTREAM_TIMEOUT", "The codex app-server did not answer in time."));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.#write({ id, method, params });
    });
  }

  notify(method: "initialized"): void {
    this.#write({ method });
  }

  /** Every notification from now on; returns the function that stops listening. */
  listen(listener: (note: Notification) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called once when the process is gone (in a microtask if it already is); returns the function that stops listening. */
  onClose(listener: () => void): () => void {
    if (this.#closed) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  #write(message: Record<string, unknown>): void {
    if (this.#closed) return;
    this.#proc.child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  #receive(line: string): void {
    let message: Record<string, unknown> | undefined;
    try {
      message = asRecord(JSON.parse(line));
    } catch {
      return;
    }
    if (!message) return;
    const id = message.id;
    const method = message.method;
    if (typeof method === "string") {
      if (id !== undefined) this.#write({ id, error: { code: METHOD_NOT_FOUND, message: "not supported by this client" } });
      else for (const listener of this.#listeners) listener(message as unknown as Notification);
      return;
    }
    if (typeof id !== "number") return;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const error = asRecord(message.error);
    if (error) pending.reject(new RpcError(typeof error.code === "number" ? error.code : 0, typeof error.message === "string" ? error.message : ""));
    else pending.resolve(message.result);
  }
}
