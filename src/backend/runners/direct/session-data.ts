/** The runner's part of the session data (`ctx.data.direct`), read back narrowly. */
import { asNumber, asRecord, asString } from "../../core/json.js";
import type { SessionData } from "../types.js";
import type { StoredTokens } from "./tokens.js";

/** A device login in progress (or just ended without success). */
export interface LoginState {
  deviceAuthId: string;
  userCode: string;
  /** Epoch ms; the upstream's codes live 15 minutes. */
  expiresAt: number;
  /** The upstream's poll interval, widened by each `slow_down`. */
  intervalMs: number;
  /** No upstream poll before this instant (epoch ms). */
  nextPollAt: number;
  outcome?: "expired" | "denied";
}

/** The account's model list as last discovered. */
export interface ModelsCache {
  slugs: string[];
  fetchedAt: number;
}

interface DirectData {
  tokens?: StoredTokens;
  login?: LoginState;
  models?: ModelsCache;
  /** Sent as `session-id` and `prompt_cache_key`, so that the turns of one session share the upstream's cache. */
  conversationId?: string;
}

const KEY = "direct";

/** The runner's part for reading: an empty one when there is none, and the session data is left as it was. */
function readSection(data: SessionData): DirectData {
  return (asRecord(data[KEY]) ?? {}) as DirectData;
}

/** The runner's part for writing: made on first write, so a signed-out session's data stays empty (no store write). */
function writeSection(data: SessionData): DirectData {
  const existing = asRecord(data[KEY]);
  if (existing) return existing as DirectData;
  const fresh: DirectData = {};
  data[KEY] = fresh;
  return fresh;
}

export function readTokens(data: SessionData): StoredTokens | undefined {
  const t = asRecord(readSection(data).tokens);
  if (!t) return undefined;
  const accessToken = asString(t.accessToken);
  const refreshToken = asString(t.refreshToken);
  const expiresAt = asNumber(t.expiresAt);
  const account = asRecord(t.account);
  if (!accessToken || !refreshToken || expiresAt === undefined || !account) return undefined;
  const obtainedAt = asNumber(t.obtainedAt);
  return {
    accessToken,
    refreshToken,
    expiresAt,
    ...(obtainedAt !== undefined ? { obtainedAt } : {}),
    accountId: asString(t.accountId) ?? null,
    account: {
      email: asString(account.email) ?? null,
      name: asString(account.name) ?? null,
      planType: asString(account.planType) ?? null,
    },
  };
}

/** Sign the session in: tokens kept, the finished login and any old model list dropped. */
export function writeTokens(data: SessionData, tokens: StoredTokens): void {
  const s = writeSection(data);
  const sameAccount = s.tokens?.accountId === tokens.accountId;
  s.tokens = { ...tokens, account: { ...tokens.account } };
  delete s.login;
  if (!sameAccount) delete s.models;
}

/** Forget every token, the login and the model list. */
export function clearAll(data: SessionData): void {
  delete data[KEY];
}

export function readLogin(data: SessionData): LoginState | undefined {
  const l = asRecord(readSection(data).login);
  if (!l) return undefined;
  const deviceAuthId = asString(l.deviceAuthId);
  const userCode = asString(l.userCode);
  const expiresAt = asNumber(l.expiresAt);
  const intervalMs = asNumber(l.intervalMs);
  const nextPollAt = asNumber(l.nextPollAt);
  if (!deviceAuthId || !userCode || expiresAt === undefined || intervalMs === undefined || nextPollAt === undefined) {
    return undefined;
  }
  const outcome = l.outcome === "expired" || l.outcome === "denied" ? l.outcome : undefined;
  return { deviceAuthId, userCode, expiresAt, intervalMs, nextPollAt, ...(outcome ? { outcome } : {}) };
}

export function writeLogin(data: SessionData, login: LoginState): void {
  writeSection(data).login = { ...login };
}

export function readModels(data: SessionData): ModelsCache | undefined {
  const m = asRecord(readSection(data).models);
  const fetchedAt = asNumber(m?.fetchedAt);
  if (!m || !Array.isArray(m.slugs) || fetchedAt === undefined) return undefined;
  return { slugs: m.slugs.filter((s): s is string => typeof s === "string"), fetchedAt };
}

export function writeModels(data: SessionData, models: ModelsCache | undefined): void {
  if (models) writeSection(data).models = { slugs: [...models.slugs], fetchedAt: models.fetchedAt };
  else delete readSection(data).models;
}

/** The session's conversation id, made once with `make`. */
export function conversationId(data: SessionData, make: () => string): string {
  const s = writeSection(data);
  const existing = asString(s.conversationId);
  if (existing) return existing;
  const fresh = make();
  s.conversationId = fresh;
  return fresh;
}
