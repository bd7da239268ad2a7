/**
 * Per-session CODEX_HOME folders under one private root. The session's data keeps
 * only the folder's name; the tokens live in the folder's auth.json, written by the CLI.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Account } from "../../../contract.js";
import { CodexError } from "../../core/errors.js";
import { asRecord } from "../../core/json.js";
import type { SessionData } from "../types.js";
import { identityFromIdToken } from "../id-token.js";

/** What the CLI runner keeps in a session's data. Never a token. */
export interface CliSessionState {
  /** Folder name under homeRoot. */
  home: string;
  /** The device login this session started last, while it has no final outcome in memory. */
  login?: PendingLogin;
}

/** A device login as a session's data records it (both binary-driven runners keep one). */
export interface PendingLogin {
  expiresAt: number;
  outcome?: "expired" | "denied";
}

/** A recorded login read back from (untrusted, possibly old) session data; undefined when it is not one. */
export function readPendingLogin(value: unknown): PendingLogin | undefined {
  const login = asRecord(value);
  if (!login || typeof login.expiresAt !== "number") return undefined;
  const result: PendingLogin = { expiresAt: login.expiresAt };
  if (login.outcome === "expired" || login.outcome === "denied") result.outcome = login.outcome;
  return result;
}

const KEY = "cli";
/** The only names of session folders this runner makes (and the only ones its sweep removes). */
export const HOME_NAME = /^s-[a-f0-9]{32}$/;
const NAME = HOME_NAME;

export function readState(data: SessionData): CliSessionState | undefined {
  const state = asRecord(data[KEY]);
  if (state === undefined) return undefined;
  // Only a name this runner made: a corrupted value can never point outside the root.
  if (typeof state.home !== "string" || !NAME.test(state.home)) return undefined;
  const result: CliSessionState = { home: state.home };
  const login = readPendingLogin(state.login);
  if (login) result.login = login;
  return result;
}

export function writeState(data: SessionData, state: CliSessionState | undefined): void {
  if (state === undefined) delete data[KEY];
  else data[KEY] = state;
}

/** Create the root 0700, refusing one that is a symlink or belongs to another user. */
export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = lstatSync(root);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new CodexError("INTERNAL", "The CLI runner's home root is not a private folder.");
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(root, 0o700);
}

export function newHomeName(): string {
  return `s-${randomBytes(16).toString("hex")}`;
}

/** The session folder (CODEX_HOME) and its empty working directory, created 0700. */
export function ensureHome(root: string, name: string): { home: string; work: string } {
  ensureRoot(root);
  const home = join(root, name);
  const work = join(home, "work");
  mkdirSync(work, { recursive: true, mode: 0o700 });
  return { home, work };
}

export function homePath(root: string, name: string): string {
  return join(root, name);
}

export function removeHome(root: string, name: string): void {
  rmSync(join(root, name), { recursive: true, force: true });
}

interface AuthFile {
  tokens?: { id_token?: unknown; access_token?: unknown; refresh_token?: unknown };
}

function readAuthFile(home: string): AuthFile | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(home, "auth.json"), "utf8"));
    return asRecord(parsed) as AuthFile | undefined;
  } catch {
    return undefined;
  }
}

/** The signed-in account from auth.json's id_token claims; undefined when there is no usable login. */
export function readAccount(home: string): Account | undefined {
  const auth = readAuthFile(home);
  const tokens = auth?.tokens;
  if (!tokens || typeof tokens.access_token !== "string" || typeof tokens.refresh_token !== "string") return undefined;
  return identityFromIdToken(tokens.id_token).account;
}

/** The session's tokens and their long pieces, to scrub from anything the agent prints. */
export function secretsOf(home: string): string[] {
  const tokens = readAuthFile(home)?.tokens ?? {};
  const secrets = new Set<string>();
  for (const token of [tokens.id_token, tokens.access_token, tokens.refresh_token]) {
    if (typeof token !== "string" || token.length < 16) continue;
    secrets.add(token);
    for (const part of token.split(".")) if (part.length >= 16) secrets.add(part);
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Drop auth.json (a login the upstream no longer honours). */
export function forgetLogin(home: string): void {
  rmSync(join(home, "auth.json"), { force: true });
}
