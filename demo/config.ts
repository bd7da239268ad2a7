/** What the demo server tells its page at `GET /demo-config.json` (JSON, never interpolated into HTML). */
export interface DemoConfig {
  /** Where the page's login code comes from: the real OpenAI endpoints or the local simulator. */
  upstream: "openai" | "simulator";
  /** Mount point of the contract routes. */
  basePath: string;
  /** Extra login origins the popup may open, e.g. the simulator's `http://127.0.0.1:PORT`. Empty for OpenAI. */
  allowedLoginOrigins: string[];
  /** How often the page polls `/status` while waiting for approval. */
  pollIntervalMs: number;
}

/** Path of the config route. */
export const DEMO_CONFIG_PATH = "/demo-config.json";
