import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { DEMO_CONFIG_PATH, type DemoConfig } from "./config.js";
import { DemoPage } from "./page.js";
import "./style.css";

const root = createRoot(document.getElementById("root")!);

async function loadConfig(): Promise<DemoConfig> {
  const res = await fetch(DEMO_CONFIG_PATH, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`config: HTTP ${res.status}`);
  return (await res.json()) as DemoConfig;
}

loadConfig().then(
  (config) => root.render(<StrictMode><DemoPage config={config} /></StrictMode>),
  () => root.render(<p role="alert">The demo server could not be reached. Is `npm start` still running?</p>),
);
