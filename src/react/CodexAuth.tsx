import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { CodexClientError, RunHandle } from "../client/types.js";
import { DEFAULT_LABELS, type CodexAuthLabels } from "./labels.js";
import { CSS } from "./styles.js";
import { useCodexAuth, type CodexAuthApi, type CodexAuthOptions } from "./use-codex-auth.js";

/**
 * Props of {@link CodexAuth}: the hook's options plus how to render.
 * @example <CodexAuth basePath="/api/codex" labels={{ login: "Sign in with ChatGPT" }} />
 */
export interface CodexAuthProps extends CodexAuthOptions {
  /** Headless mode: render only what this returns. */
  children?: (auth: CodexAuthApi) => ReactNode;
  /** Overrides of any visible string of the default UI. */
  labels?: Partial<CodexAuthLabels>;
  className?: string;
}

/**
 * "Login with ChatGPT" with an accessible default UI, or headless with a function child.
 * @example <CodexAuth basePath="/api/codex" onAuthenticated={(account) => console.log(account.email)} />
 * @example <CodexAuth>{(auth) => <button onClick={() => auth.login()}>{auth.status}</button>}</CodexAuth>
 */
export function CodexAuth({ children, labels, className, ...options }: CodexAuthProps) {
  const auth = useCodexAuth(options);
  if (children) return children(auth);
  return <DefaultUI auth={auth} labels={{ ...DEFAULT_LABELS, ...labels }} className={className} />;
}

function DefaultUI({ auth, labels, className }: { auth: CodexAuthApi; labels: CodexAuthLabels; className?: string }) {
  const [copied, setCopied] = useState(false);
  const [now, setNow] = useState(Date.now);
  const [prompt, setPrompt] = useState("");
  const [answer, setAnswer] = useState("");
  const [runError, setRunError] = useState<CodexClientError | null>(null);
  const [running, setRunning] = useState<RunHandle | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const shownStatus = useRef(auth.status);
  const promptId = useId();
  const status = auth.status;
  const secondsLeft = Math.max(0, (auth.expiresAt ?? 0) - now) / 1000;

  // Server text is only ever rendered as a text node: React escapes it.
  function describeError(error: CodexClientError): string {
    const sentence = labels[error.code as keyof CodexAuthLabels] ?? error.message;
    if (!error.resetsAt) return sentence;
    const resetTime = new Date(error.resetsAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    return `${sentence} ${labels.resetsAt} ${resetTime}.`;
  }

  // The countdown ticks on its own while a code is shown.
  useEffect(() => {
    if (status !== "waitingForLogin") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [status]);

  // The view changed under the keyboard: the focused control is gone, so move to the new view's first one.
  useEffect(() => {
    const rootElement = root.current!;
    const ownerDocument = rootElement.ownerDocument;
    if (shownStatus.current !== status && ownerDocument.activeElement === ownerDocument.body) {
      (rootElement.querySelector("textarea") ?? rootElement.querySelector("button"))?.focus();
    }
    shownStatus.current = status;
  }, [status]);

  // A run does not outlive the component.
  useEffect(() => () => running?.abort(), [running]);

  function submit(event: FormEvent): void {
    event.preventDefault();
    // The same button runs and stops.
    if (running) return running.abort();
    setAnswer("");
    setRunError(null);
    const handle = auth.run(prompt, {
      onText: (_text, _mode, full) => setAnswer(full),
      onDone: (result) => setAnswer(result.text),
      onError: setRunError,
    });
    setRunning(handle);
    handle.done.then(() => setRunning(null));
  }

  async function copy(): Promise<void> {
    setCopied(await auth.copyUserCode());
    // "Copied" shows for two seconds.
    setTimeout(setCopied, 2000, false);
  }

  const signedIn = status === "authenticated";
  const waiting = status === "waitingForLogin";
  const canLogin = status === "idle" || status === "loggedOut" || status === "error";
  // The states that are a sentence and nothing else.
  const statusMessage = status === "resuming" || status === "connecting" || status === "loggedOut" ? labels[status] : null;

  return (
    <div ref={root} className={"codex-auth " + (className ?? "")}>
      <style>{CSS}</style>
      <div role="status" aria-live="polite">
        {statusMessage}
        {waiting ? (
          <>
            {labels.enterCode}
            <strong className="codex-auth-code">{auth.userCode}</strong>
          </>
        ) : null}
        {signedIn ? `${labels.signedIn} ${auth.account?.email ?? ""}` : null}
        {auth.error ? describeError(auth.error) : null}
      </div>
      {canLogin ? (
        <button type="button" onClick={() => auth.login()}>
          {labels.login}
        </button>
      ) : null}
      {waiting ? (
        <>
          <p>
            <button type="button" onClick={copy}>
              {labels.copy}
            </button>{" "}
            <span aria-live="polite">{copied ? labels.copied : ""}</span>
          </p>
          <p>
            {labels.expiresIn} {Math.floor(secondsLeft / 60)}:{String(Math.floor(secondsLeft % 60)).padStart(2, "0")}
          </p>
          {auth.popupBlocked ? (
            <p>
              {labels.popupBlocked}{" "}
              <a href={auth.loginUrl!} target="_blank" rel="noopener noreferrer">
                {labels.openLogin}
              </a>
            </p>
          ) : null}
          <button type="button" onClick={() => auth.login()}>
            {labels.startOver}
          </button>
        </>
      ) : null}
      {signedIn ? (
        <>
          <button type="button" onClick={() => auth.logout()}>
            {labels.disconnect}
          </button>
          <form onSubmit={submit}>
            <label htmlFor={promptId}>{labels.prompt}</label>
            <textarea id={promptId} required value={prompt} onChange={(event) => setPrompt(event.target.value)} />
            <button>{running ? labels.stop : labels.run}</button>
          </form>
          {runError ? <p role="alert">{describeError(runError)}</p> : null}
          <output htmlFor={promptId} data-codex-answer="" aria-busy={!!running}>
            {answer}
          </output>
        </>
      ) : null}
    </div>
  );
}
