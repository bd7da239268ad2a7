import type { DemoConfig } from "./config.js";

/** The demo page around the component. */
export function DemoPage({ config }: { config: DemoConfig }) {
  return (
    <>
      <h1>codex-auth demo</h1>
      <p>
        {config.upstream === "simulator"
          ? "Offline mode: a local simulator stands in for OpenAI."
          : "Sign in with your ChatGPT account through the Codex device-code flow."}
      </p>
      <p>(placeholder until the component lands)</p>
    </>
  );
}
