/**
 * `npm start`: build the demo page if missing or stale, then serve it with the
 * contract routes. `CODEX_UPSTREAM=simulator` (`npm run demo:sim`) runs fully offline.
 */
import { ensureDemoBuilt } from "./build.js";
import { startDemo } from "./server.js";

const upstream = process.env.CODEX_UPSTREAM === "simulator" ? "simulator" : "openai";
if (process.env.CODEX_UPSTREAM && !["simulator", "openai"].includes(process.env.CODEX_UPSTREAM)) {
  console.error(`CODEX_UPSTREAM must be "openai" or "simulator" (got "${process.env.CODEX_UPSTREAM}").`);
  process.exit(1);
}
const port = process.env.PORT ? Number(process.env.PORT) : 8787;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (got "${process.env.PORT}").`);
  process.exit(1);
}
const cookieSecret = process.env.COOKIE_SECRET || undefined;

const { built } = await ensureDemoBuilt();
if (built) console.log("Built the demo page into demo/dist.");

const demo = await startDemo({ port, upstream, ...(cookieSecret ? { cookieSecret } : {}) }).catch((error: unknown) => {
  const inUse = (error as NodeJS.ErrnoException | null)?.code === "EADDRINUSE";
  console.error(inUse ? `Port ${port} is already in use; set PORT to another one.` : `The demo could not start: ${String(error)}`);
  process.exit(1);
});

if (demo.cookieSecretGenerated) {
  console.warn(
    "warning: COOKIE_SECRET is not set; using a random secret for this run, so sessions end when the server restarts.",
  );
}
console.log("note: Secure cookies are off only because this demo serves plain HTTP on localhost; in production keep them on.");
if (demo.sim) {
  console.log(`Offline mode: the upstream simulator runs at ${demo.sim.url} (its approval page opens in the login popup).`);
} else {
  console.log("Upstream: the real OpenAI endpoints (auth.openai.com, chatgpt.com). Set CODEX_UPSTREAM=simulator to run offline.");
}
console.log(`codex-auth demo: ${demo.url}`);

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    void demo.close().then(() => process.exit(0));
  });
}
