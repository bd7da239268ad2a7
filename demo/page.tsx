import { CodexAuth } from "codex-auth";
import type { DemoConfig } from "./config.js";

/** The demo page: a short explanation around `<CodexAuth>` with its default UI. */
export function DemoPage({ config }: { config: DemoConfig }) {
  const offline = config.upstream === "simulator";
  return (
    <>
      <header>
        <h1>codex-auth demo</h1>
        <p>
          Sign in with a ChatGPT account through the Codex device-code flow, then send a prompt. The OAuth
          tokens stay on this server; the page only holds an HttpOnly cookie and the streamed text.
        </p>
        {offline ? (
          <p className="demo-note">
            Offline mode: a local simulator stands in for OpenAI. Its approval page opens in the login window;
            type the code shown here and press Approve.
          </p>
        ) : (
          <p className="demo-note">
            Each account must enable device code authorization once in ChatGPT → Settings → Security &amp; Login.
          </p>
        )}
      </header>
      <section aria-label="Login with ChatGPT">
        <CodexAuth
          basePath={config.basePath}
          allowedLoginOrigins={config.allowedLoginOrigins}
          pollIntervalMs={config.pollIntervalMs}
          labels={{
            // Say which service failed: the demo's upstream is either OpenAI or the local simulator.
            UPSTREAM_UNAVAILABLE: offline
              ? "The sign-in service (the local simulator) could not be reached. Try again in a moment."
              : "OpenAI's sign-in service could not be reached from this server. Check its internet access and try again.",
          }}
        />
      </section>
      <footer>
        <p>
          Uses OpenAI's Codex CLI login off-label: fine for experiments and personal tools, not for a business.
          See SECURITY.md.
        </p>
      </footer>
    </>
  );
}
