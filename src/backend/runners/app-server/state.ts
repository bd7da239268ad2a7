/** What the app-server runner keeps in a session's data: the folder's name and what `/status` answers from. Never a token. */
import type { Account } from "../../../contract.js";
import { asRecord } from "../../core/json.js";
import { HOME_NAME, readPendingLogin, type PendingLogin } from "../cli/home.js";
import type { SessionData } from "../types.js";

export interface AppServerSessionState {
  /** Folder name under homeRoot (its CODEX_HOME). */
  home: string;
  /** Set once signed in, from `account/read`: `/status` answers from it without a process. */
  account?: Account;
  /** The device login this session started last, while it has no final outcome in memory. */
  login?: PendingLogin;
}

const KEY = "appServer";

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

export function readState(data: SessionData): AppServerSessionState | undefined {
  const state = asRecord(data[KEY]);
  // Only a name this runner made: a corrupted value can never point outside the root.
  if (state === undefined || typeof state.home !== "string" || !HOME_NAME.test(state.home)) return undefined;
  const result: AppServerSessionState = { home: state.home };
  const account = asRecord(state.account);
  if (account) result.account = { email: text(account.email), planType: text(account.planType) };
  const login = readPendingLogin(state.login);
  if (login) result.login = login;
  return result;
}

export function writeState(data: SessionData, state: AppServerSessionState | undefined): void {
  if (state === undefined) delete data[KEY];
  else data[KEY] = state;
}
