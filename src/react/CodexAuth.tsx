import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { CodexClientError, RunHandle } from "../client/types.js";
import { DEFAULT_LABELS, type CodexAuthLabels } from "./labels.js";
import { CSS } from "./styles.js";
import { useCodexAuth, type CodexAuthApi as Auth, type CodexAuthOptions } from "./use-codex-auth.js";

export interface CodexAuthProps extends CodexAuthOptions {
  /** Headless mode: render only what this returns. */
  children?: (auth: Auth) => ReactNode;
  /** Overrides of any visible string of the default UI. */
  labels?: Partial<CodexAuthLabels>;
  className?: string;
}

/**
 * "Login with ChatGPT" with an accessible default UI, or headless with a function child.
 * @example <CodexAuth basePath="/api/codex" onAuthenticated={(a) => console.log(a.email)} />
 * @example <CodexAuth>{(auth) => <button onClick={() => auth.login()}>{auth.status}</button>}</CodexAuth>
 */
export function CodexAuth({ children, labels, className, ...options }: CodexAuthProps) {
  const auth = useCodexAuth(options);
  return children ? children(auth) : <DefaultUI a={auth} l={{ ...DEFAULT_LABELS, ...labels }} className={className} />;
}

function DefaultUI({ a, l, className }: { a: Auth; l: CodexAuthLabels; className?: string }) {
  const [copied, setCopied] = useState(false);
  const [now, setNow] = useState(Date.now);
  const [prompt, setPrompt] = useState("");
  const [answer, setAnswer] = useState("");
  const [runError, setRunError] = useState<CodexClientError | null>(null);
  const [running, setRunning] = useState<RunHandle | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const shown = useRef(a.status);
  const id = useId();
  const s = a.status;
  // Server text is only ever rendered as a text node: React escapes it.
  const say = (e: CodexClientError) =>
    (l[e.code as keyof CodexAuthLabels] ?? e.message) +
    (e.resetsAt ? ` ${l.resetsAt} ${new Date(e.resetsAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}.` : "");
  const left = Math.max(0, (a.expiresAt ?? 0) - now) / 1e3;

  useEffect(() => {
    if (s != "waitingForLogin") return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1e3);
    return () => clearInterval(t);
  }, [s]);
  // The view changed under the keyboard: the focused control is gone, so move to the new view's first one.
  useEffect(() => {
    const r = root.current!, d = r.ownerDocument;
    if (shown.current != s && d.activeElement == d.body) (r.querySelector("textarea") ?? r.querySelector("button"))?.focus();
    shown.current = s;
  }, [s]);
  useEffect(() => () => running?.abort(), [running]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (running) return running.abort();
    setAnswer("");
    setRunError(null);
    const h = a.run(prompt, { onText: (_t, _m, full) => setAnswer(full), onDone: (r) => setAnswer(r.text), onError: setRunError });
    setRunning(h);
    h.done.then(() => setRunning(null));
  };
  const copy = () =>
    a.copyUserCode().then((ok) => {
      setCopied(ok);
      setTimeout(setCopied, 2e3, false);
    });

  return (
    <div ref={root} className={"codex-auth " + (className ?? "")}>
      <style>{CSS}</style>
      <div role="status" aria-live="polite">
        {s == "resuming" || s == "connecting" || s == "loggedOut" ? l[s] : null}
        {s == "waitingForLogin" ? (
          <>
            {l.enterCode}
            <strong className="codex-auth-code">{a.userCode}</strong>
          </>
        ) : null}
        {s == "authenticated" ? `${l.signedIn} ${a.account?.email ?? ""}` : null}
        {a.error ? say(a.error) : null}
      </div>
      {s == "idle" || s == "loggedOut" || s == "error" ? (
        <button type="button" onClick={() => a.login()}>
          {l.login}
        </button>
      ) : null}
      {s == "waitingForLogin" ? (
        <>
          <p>
            <button type="button" onClick={copy}>
              {l.copy}
            </button>{" "}
            <span aria-live="polite">{copied ? l.copied : ""}</span>
          </p>
          <p>
            {l.expiresIn} {Math.floor(left / 60)}:{String(Math.floor(left % 60)).padStart(2, "0")}
          </p>
          {a.popupBlocked ? (
            <p>
              {l.popupBlocked}{" "}
              <a href={a.loginUrl!} target="_blank" rel="noopener noreferrer">
                {l.openLogin}
              </a>
            </p>
          ) : null}
          <button type="button" onClick={() => a.login()}>
            {l.startOver}
          </button>
        </>
      ) : null}
      {s == "authenticated" ? (
        <>
          <button type="button" onClick={() => a.logout()}>
            {l.disconnect}
          </button>
          <form onSubmit={submit}>
            <label htmlFor={id}>{l.prompt}</label>
            <textarea id={id} required value={prompt} onChange={(e) => setPrompt(e.target.value)} />
            <button>{running ? l.stop : l.run}</button>
          </form>
          {runError ? <p role="alert">{say(runError)}</p> : null}
          <output htmlFor={id} data-codex-answer="" aria-busy={!!running}>
            {answer}
          </output>
        </>
      ) : null}
    </div>
  );
}
