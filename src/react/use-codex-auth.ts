import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { createCodexClient } from "../client/client.js";
import { INITIAL_STATE } from "../client/reducer.js";
import type { CodexClient, CodexClientConfig, CodexClientError, CodexState, RunHandle, RunHandlers } from "../client/types.js";
import type { Account, RunRequest } from "../contract.js";

/** Client options plus callbacks; read once, except the callbacks, which may change. */
export interface CodexAuthOptions extends CodexClientConfig {
  onAuthenticated?: (account: Account) => void;
  onLogout?: () => void;
  /** Login and run errors alike. */
  onError?: (error: CodexClientError) => void;
}

/** The state plus the actions of {@link useCodexAuth}. */
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
 * const auth = useCodexAuth({ onAuthenticated: (a) => console.log(a.email) });
 * return <button onClick={() => auth.login()}>Login with ChatGPT</button>;
 */
export function useCodexAuth(options: CodexAuthOptions = {}): CodexAuthApi {
  const [c] = useState(() => createCodexClient(options));
  const cb = useRef(options);
  cb.current = options;
  // The server and the hydration pass see the initial state; the browser then its own.
  const s = useSyncExternalStore(c.subscribe, c.getState, () => INITIAL_STATE);
  useEffect(() => {
    let p = c.getState();
    const off = c.subscribe(() => {
      const n = c.getState(), h = cb.current;
      if (n.status != p.status) {
        if (n.status == "authenticated") h.onAuthenticated?.(n.account!);
        if (n.status == "loggedOut") h.onLogout?.();
      }
      if (n.error && n.error != p.error) h.onError?.(n.error);
      p = n;
    });
    const stop = c.start();
    return () => (off(), stop());
  }, [c]);
  return {
    ...s,
    client: c,
    login: (popup) => c.login(popup),
    logout: c.logout,
    cancelLogin: c.cancelLogin,
    run: (prompt, h = {}) =>
      c.run(prompt, { ...h, onError: (e) => (h.onError?.(e), cb.current.onError?.(e)) }),
    copyUserCode: () =>
      Promise.resolve(s.userCode!)
        .then((code) => navigator.clipboard.writeText(code))
        .then(() => true, () => false),
  };
}
