import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { createCodexClient } from "../client/client.js";
import { INITIAL_STATE } from "../client/reducer.js";
import type { CodexClient, CodexClientConfig, CodexClientError, CodexState, RunHandle, RunHandlers } from "../client/types.js";
import type { Account, RunRequest } from "../contract.js";

/**
 * Client options plus callbacks; read once, except the callbacks, which may change.
 * @example useCodexAuth({ basePath: "/api/codex", onLogout: () => navigate("/") })
 */
export interface CodexAuthOptions extends CodexClientConfig {
  onAuthenticated?: (account: Account) => void;
  onLogout?: () => void;
  /** Login and run errors alike. */
  onError?: (error: CodexClientError) => void;
}

/**
 * The state plus the actions of {@link useCodexAuth}.
 * @example const { status, userCode, login } = useCodexAuth();
 */
export interface CodexAuthApi extends CodexState {
  /** Call straight from a click handler: the popup opens before any await. */
  login: (popup?: boolean) => Promise<void>;
  logout: () => Promise<void>;
  cancelLogin: () => void;
  run: (prompt: string | RunRequest, handlers?: RunHandlers) => RunHandle;
  /** Copies the device code; resolves false where the clipboard is unavailable. */
  copyUserCode: () => Promise<boolean>;
  client: CodexClient;
}

/**
 * Sign-in state and actions over one client per component (created once, so
 * inline option objects do not recreate it; StrictMode safe).
 * @example
 * const auth = useCodexAuth({ onAuthenticated: (account) => console.log(account.email) });
 * return <button onClick={() => auth.login()}>Login with ChatGPT</button>;
 */
export function useCodexAuth(options: CodexAuthOptions = {}): CodexAuthApi {
  const [client] = useState(() => createCodexClient(options));
  // The callbacks of the latest render, read when an event fires.
  const latestOptions = useRef(options);
  latestOptions.current = options;
  // The server and the hydration pass see the initial state; the browser then its own.
  const state = useSyncExternalStore(client.subscribe, client.getState, () => INITIAL_STATE);

  useEffect(() => {
    let previousState = client.getState();
    const unsubscribe = client.subscribe(() => {
      const nextState = client.getState();
      const callbacks = latestOptions.current;
      if (nextState.status !== previousState.status) {
        if (nextState.status === "authenticated") callbacks.onAuthenticated?.(nextState.account!);
        if (nextState.status === "loggedOut") callbacks.onLogout?.();
      }
      if (nextState.error && nextState.error !== previousState.error) callbacks.onError?.(nextState.error);
      previousState = nextState;
    });
    const stop = client.start();
    return () => {
      unsubscribe();
      stop();
    };
  }, [client]);

  return {
    ...state,
    client,
    login: (popup) => client.login(popup),
    logout: client.logout,
    cancelLogin: client.cancelLogin,
    // A run's error reaches the run's own handler and the component's onError.
    run: (prompt, handlers = {}) =>
      client.run(prompt, {
        ...handlers,
        onError(error) {
          handlers.onError?.(error);
          latestOptions.current.onError?.(error);
        },
      }),
    // Promise.resolve first, so that a missing clipboard API rejects rather than throws.
    copyUserCode: () =>
      Promise.resolve(state.userCode!)
        .then((code) => navigator.clipboard.writeText(code))
        .then(
          () => true,
          () => false,
        ),
  };
}
