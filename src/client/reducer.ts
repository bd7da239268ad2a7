import type { CodexState } from "./types.js";

/**
 * What happened, named by the status it leads to, with that status's payload.
 * Every other field of the state resets.
 */
export type CodexAction =
  | { status: "resuming"; account: CodexState["account"] }
  | { status: "connecting" }
  | ({ status: "waitingForLogin" } & Pick<CodexState, "userCode" | "loginUrl" | "expiresAt" | "popupBlocked">)
  | { status: "authenticated"; account: NonNullable<CodexState["account"]> }
  | { status: "error"; error: NonNullable<CodexState["error"]> }
  | { status: "loggedOut" }
  | { status: "idle" };

/** The state of a fresh client: nobody signed in, nothing in flight. */
export const INITIAL_STATE: CodexState = {
  status: "idle",
  account: null,
  userCode: null,
  loginUrl: null,
  expiresAt: null,
  popupBlocked: false,
  error: null,
};

/**
 * Pure transition function of the client state. Returns the same object when
 * an action does not apply, so subscribers are not woken for nothing; an action
 * that applies yields a new object even when it repeats (cheap, and simple).
 * @example reduceCodexState(INITIAL_STATE, { status: "connecting" }).status // "connecting"
 */
export function reduceCodexState(state: CodexState, action: CodexAction): CodexState {
  const from = state.status;
  const to = action.status;
  // A code only makes sense for the login that asked for it.
  if (to === "waitingForLogin" && from !== "connecting") return state;
  // Cancelling a login never signs out a session that is already in.
  if (to === "idle" && from === "authenticated") return state;
  return { ...INITIAL_STATE, ...action };
}
