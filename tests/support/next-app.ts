/**
 * A real Next.js App Router app made of a README section's file snippets and
 * the packed tarball, built with `next build` and served by `next start` on
 * loopback, with the tarball's simulator as upstream: what the README's
 * Next.js sections promise, run as a user would.
 */
import { randomBytes } from "node:crypto";
import { freePort } from "./free-port.js";
import { packTarball } from "./packed-tarball.js";
import { BIN, createScratchApp, readmeSnippets, runNode, startNode, startSimulatorBin, type Child } from "./scratch-app.js";

// Every App Router app has a root layout (create-next-app writes this one); the README does not repeat it.
const LAYOUT = `export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
`;

export interface NextApp {
  /** `http://localhost:PORT` (localhost: Chromium keeps a Secure `__Host-` cookie on plain HTTP only there). */
  origin: string;
  /** What `next build` printed. */
  buildOutput: string;
  /** The `next start` process (its output: the server console). */
  server: Child;
  stop(): Promise<void>;
}

/**
 * Builds and starts the app of README section `heading` from the files it names.
 *
 * @example
 * const app = await startNextApp("### Next.js (App Router)", ["app/api/codex/[...path]/route.ts", "app/page.tsx"]);
 */
export async function startNextApp(heading: string, files: readonly string[]): Promise<NextApp> {
  const [tarball, snippets] = await Promise.all([packTarball(), readmeSnippets(heading)]);
  const sources = new Map<string, string>([["app/layout.tsx", LAYOUT]]);
  for (const name of files) {
    const code = snippets.get(name);
    if (code === undefined) throw new Error(`README's "${heading}" has no ${name} fence`);
    sources.set(name, code);
  }
  const app = await createScratchApp("next", tarball.path, sources);
  await tarball.remove();
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => child.stop()));
    await app.remove();
  };
  try {
    const [nextPort, simulatorPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
    delete env.NODE_ENV; // next sets it itself
    const simulator = await startSimulatorBin(app, simulatorPort, env);
    children.push(simulator.child);
    const appEnv = { ...env, CODEX_UPSTREAM: simulator.url, COOKIE_SECRET: randomBytes(32).toString("hex") };
    // Two shared cores: a real `next build` takes minutes here.
    const buildOutput = await runNode(BIN.next, ["build"], { cwd: app.dir, env: appEnv, timeoutMs: 480_000 });
    const server = startNode(BIN.next, ["start", "--port", String(nextPort), "--hostname", "127.0.0.1"], { cwd: app.dir, env: appEnv });
    children.push(server);
    await server.waitFor(/Ready in/, 60_000);
    return { origin: `http://localhost:${nextPort}`, buildOutput, server, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
