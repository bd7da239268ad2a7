/**
 * The device-code login: start, coalesced polls (at most one upstream poll per
 * interval per login, however many status calls arrive, on however many
 * instances) and a single code exchange on approval, however many status calls
 * race at that instant. Across instances, each poll is a slot in the shared
 * coordination named for the login and the poll instant the session holds:
 * the one instance that takes it polls; the others answer "pending".
 */
import { CodexError } from "../../core/errors.js";
import type { Coordination } from "../../sessions/coordination.js";
import { asNumber, asRecord, asString } from "../../core/json.js";
import { isDisplayableUserCode } from "../../routes/login-result.js";
import type { DeviceLoginResult, RunnerContext, RunnerStatus } from "../types.js";
import { isChallenge, mapUpstreamReply, upstreamErrorCode } from "./errors.js";
import { request } from "./http.js";
import type { ResolvedOptions } from "./options.js";
import { readLogin, readTokens, writeLogin, writeTokens, type LoginState } from "./session-data.js";
import { tokensFromGrant, type StoredTokens } from "./tokens.js";

/** Upstream device codes live 15 minutes. */
const CODE_TTL_MS = 15 * 60 * 1000;
/** RFC 8628: each slow_down adds five seconds to the interval. */
const SLOW_DOWN_STEP_MS = 5_000;
const DEFAULT_INTERVAL_S = 5;
/** A longer announced interval would leave a 15-minute code unpolled (an infinite one breaks the session's JSON). */
const MAX_INTERVAL_S = 60;
/** Real ids are a few dozen characters; the id is kept in the session and sent back upstream. */
const MAX_DEVICE_AUTH_ID_CHARS = 1024;

type Answer =
  | { kind: "pending" }
  | { kind: "expired" }
  | { kind: "denied" }
  | { kind: "authenticated"; tokens: StoredTokens };

/** In-process state of one login, shared by every status call that names it. */
interface Entry {
  nextPollAt: number;
  intervalMs: number;
  expiresAt: number;
  inflight?: Promise<Answer>;
  /** Approved upstream, not yet exchanged (a transient exchange failure is retried). */
  approval?: { code: string; verifier: string };
  /** A final answer, replayed to late callers holding an older copy of the session. */
  final?: Answer;
}

export class DeviceLogins {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  async start(ctx: RunnerContext): Promise<DeviceLoginResult> {
    const signedIn = readTokens(ctx.data);
    if (signedIn) return { status: "authenticated", account: signedIn.account };
    const { issuer, clientId, fetch, timeouts, now } = this.#options;
    const reply = await request(
      fetch,
      `${issuer}/api/accounts/deviceauth/usercode`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: clientId }) },
      timeouts.requestMs,
    );
    if (reply.status === 404) {
      throw new CodexError(
        "DEVICE_AUTH_NOT_ENABLED",
        "Device code sign-in is not enabled for this ChatGPT account (ChatGPT → Settings → Security & Login).",
      );
    }
    if (reply.status < 200 || reply.status >= 300) throw startFailure(reply.status, mapUpstreamReply(reply, now()));
    const body = asRecord(reply.json) ?? {};
    const deviceAuthId = asString(body.device_auth_id);
    const userCode = asString(body.user_code) ?? asString(body.usercode);
    // The code is shown to the user: anything but a short code of letters, digits and dashes is refused, never echoed.
    if (!deviceAuthId || deviceAuthId.length > MAX_DEVICE_AUTH_ID_CHARS || !isDisplayableUserCode(userCode)) {
      throw new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service gave an unreadable answer.");
    }
    const startedAt = now();
    const intervalMs = Math.min(MAX_INTERVAL_S, Math.max(1, asNumber(body.interval) ?? DEFAULT_INTERVAL_S)) * 1000;
    const login: LoginState = { deviceAuthId, userCode, expiresAt: startedAt + CODE_TTL_MS, intervalMs, nextPollAt: startedAt };
    writeLogin(ctx.data, login);
    return { status: "started", loginUrl: `${issuer}/codex/device`, userCode, expiresAt: login.expiresAt };
  }

  async status(ctx: RunnerContext): Promise<RunnerStatus> {
    const tokens = readTokens(ctx.data);
    if (tokens) return { status: "authenticated", account: tokens.account };
    const login = readLogin(ctx.data);
    if (!login) return { status: "logged_out" };
    if (login.outcome) return { status: login.outcome };
    const now = this.#options.now();
    this.#sweep(now);
    let entry = this.#entries.get(login.deviceAuthId);
    if (!entry) {
      entry = { nextPollAt: login.nextPollAt, intervalMs: login.intervalMs, expiresAt: login.expiresAt };
      this.#entries.set(login.deviceAuthId, entry);
    }
    // Another instance may have polled more recently: honour the later of the two.
    entry.nextPollAt = Math.max(entry.nextPollAt, login.nextPollAt);
    entry.intervalMs = Math.max(entry.intervalMs, login.intervalMs);
    let answer: Answer;
    if (entry.final) answer = entry.final;
    else if (entry.inflight) answer = await entry.inflight;
    else if (now >= login.expiresAt) answer = { kind: "expired" };
    else if (now < entry.nextPollAt && !entry.approval) answer = { kind: "pending" };
    else answer = await this.#fly(login, entry, now, ctx.coordination);
    return this.#apply(ctx, login, entry, answer);
  }

  /** One coalesced upstream step (poll, then exchange on approval). */
  #fly(login: LoginState, entry: Entry, now: number, coordination: Coordination | undefined): Promise<Answer> {
    const flight = this.#step(login, entry, now, coordination).then((answer) => {
      if (answer.kind !== "pending") entry.final = answer;
      return answer;
    });
    entry.inflight = flight;
    const clear = (): void => {
      if (entry.inflight === flight) entry.inflight = undefined;
    };
    flight.then(clear, clear);
    return flight;
  }

  async #step(login: LoginState, entry: Entry, now: number, coordination: Coordination | undefined): Promise<Answer> {
    if (!entry.approval) {
      // The slot is named for the poll instant the session holds, so every instance that read it competes for the
      // same one; it lives one interval, so a winner that died before saving frees it by itself.
      const slot = `poll:${login.deviceAuthId}:${login.nextPollAt}`;
      if (coordination !== undefined && (await coordination.acquire(slot, entry.intervalMs)) === null) {
        return { kind: "pending" }; // another instance polls this interval; nextPollAt stays, so nobody else does
      }
      entry.nextPollAt = now + entry.intervalMs;
      const polled = await this.#poll(login, entry);
      if (polled !== "approved") return polled;
    }
    return this.#exchange(entry);
  }

  async #poll(login: LoginState, entry: Entry): Promise<Answer | "approved"> {
    const { issuer, fetch, timeouts, now } = this.#options;
    const reply = await request(
      fetch,
      `${issuer}/api/accounts/deviceauth/token`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ device_auth_id: login.deviceAuthId, user_code: login.userCode }),
      },
      timeouts.requestMs,
    );
    const code = upstreamErrorCode(reply.json) ?? "";
    if (reply.status >= 200 && reply.status < 300) {
      const body = asRecord(reply.json) ?? {};
      const authCode = asString(body.authorization_code);
      const verifier = asString(body.code_verifier);
      if (!authCode || !verifier) throw new CodexError("UPSTREAM_UNAVAILABLE", "The sign-in service gave an unreadable answer.");
      entry.approval = { code: authCode, verifier };
      return "approved";
    }
    if (code === "slow_down" || (reply.status === 429 && !code.includes("usage"))) {
      entry.intervalMs += SLOW_DOWN_STEP_MS;
      entry.nextPollAt = now() + entry.intervalMs;
      return { kind: "pending" };
    }
    if (/expired/i.test(code)) return { kind: "expired" };
    if (/denied|declined|rejected/i.test(code)) return { kind: "denied" };
    if ((reply.status === 403 && !isChallenge(reply)) || reply.status === 404) return { kind: "pending" };
    if (reply.status >= 400 && reply.status < 500 && !isChallenge(reply)) return { kind: "expired" };
    throw mapUpstreamReply(reply, now());
  }

  async #exchange(entry: Entry): Promise<Answer> {
    const approval = entry.approval;
    if (!approval) return { kind: "pending" };
    const { issuer, clientId, fetch, timeouts, now } = this.#options;
    const form = new URLSearchParams({
      grant_type: "authorization_code",
      client_id: clientId,
      code: approval.code,
      redirect_uri: `${issuer}/deviceauth/callback`,
      code_verifier: approval.verifier,
    });
    const reply = await request(
      fetch,
      `${issuer}/oauth/token`,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() },
      timeouts.requestMs,
    );
    if (reply.status >= 500 || reply.status === 429 || isChallenge(reply)) throw mapUpstreamReply(reply, now());
    entry.approval = undefined;
    const tokens = reply.status >= 200 && reply.status < 300 ? tokensFromGrant(reply.json, now()) : undefined;
    // A refused or unreadable exchange cannot be retried (codes are single-use): the login ends.
    return tokens ? { kind: "authenticated", tokens } : { kind: "expired" };
  }

  /** Write an answer into this caller's own copy of the session. */
  #apply(ctx: RunnerContext, login: LoginState, entry: Entry, answer: Answer): RunnerStatus {
    switch (answer.kind) {
      case "authenticated":
        writeTokens(ctx.data, answer.tokens);
        return { status: "authenticated", account: answer.tokens.account };
      case "pending":
        writeLogin(ctx.data, { ...login, intervalMs: entry.intervalMs, nextPollAt: entry.nextPollAt });
        return { status: "pending" };
      default:
        writeLogin(ctx.data, { ...login, outcome: answer.kind });
        return { status: answer.kind };
    }
  }

  /** Forget logins a minute after their codes expired. */
  #sweep(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (now > entry.expiresAt + 60_000) this.#entries.delete(id);
    }
  }
}

function startFailure(status: number, mapped: CodexError): CodexError {
  // Only a 404 means "not enabled"; anything else is the service failing, not the setting.
  if (mapped.code === "RUN_FAILED" || mapped.code === "NOT_AUTHENTICATED") {
    return new CodexError("UPSTREAM_UNAVAILABLE", `The sign-in service could not start a login (status ${status}).`);
  }
  return mapped;
}
