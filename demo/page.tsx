import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { createCodexClient } from "codex-auth/client";
import type { DemoConfig } from "./config.js";

/** Interim page on the client core until the React component lands. */
export function DemoPage({ config }: { config: DemoConfig }) {
  const client = useMemo(
    () => createCodexClient({ basePath: config.basePath, allowedLoginOrigins: config.allowedLoginOrigins, pollIntervalMs: config.pollIntervalMs }),
    [config],
  );
  useEffect(() => client.start(), [client]);
  const state = useSyncExternalStore(client.subscribe, client.getState);
  const [prompt, setPrompt] = useState("");
  const [answer, setAnswer] = useState("");
  const [running, setRunning] = useState<null | (() => void)>(null);
  const [err, setErr] = useState("");
  return (
    <>
      <h1>codex-auth demo</h1>
      <p>{config.upstream === "simulator" ? "Offline mode: a local simulator stands in for OpenAI." : "Sign in with ChatGPT."}</p>
      <div aria-live="polite">{state.status} {state.error ? `${state.error.code}: ${state.error.message}` : ""}</div>
      {state.status === "authenticated" ? (
        <>
          <p>{state.account?.email}</p>
          <button type="button" onClick={() => void client.logout()}>Disconnect</button>
          <label htmlFor="p">Prompt</label>
          <textarea id="p" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
          {running ? <button type="button" onClick={running}>Stop</button> : (
            <button type="button" onClick={() => {
              setAnswer(""); setErr("");
              const h = client.run(prompt, { onText: (_t, _m, full) => setAnswer(full), onError: (e) => setErr(`${e.code} ${e.message} ${e.resetsAt ? new Date(e.resetsAt).toLocaleTimeString() : ""}`) });
              setRunning(() => h.abort);
              void h.done.then(() => setRunning(null));
            }}>Run</button>
          )}
          <output data-codex-answer="">{answer}</output>
          <p>{err}</p>
        </>
      ) : (
        <>
          <button type="button" onClick={() => void client.login()}>Login with ChatGPT</button>
          {state.userCode ? <p>{state.userCode}</p> : null}
          {state.popupBlocked && state.loginUrl ? <a href={state.loginUrl} target="_blank" rel="noopener noreferrer">Open the login page</a> : null}
        </>
      )}
    </>
  );
}
