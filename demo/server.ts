import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { createCodexRouter, type CodexAuditEvent } from "codex-auth/backend";
import { directRunner } from "codex-auth/backend/direct";
import { startSimulator, type Simulator, type SimulatorOptions } from "codex-auth/simulator";
import { DEFAULT_DIST_DIR } from "./build.js";
import { DEMO_CONFIG_PATH, type DemoConfig } from "./config.js";
import { pageSecurityHeaders } from "./headers.js";
import { allowHosts, LOOPBACK_HOSTS } from "./hosts.js";

/** Options of `startDemo`. */
export interface DemoOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1` (loopback only: this is a local demo). */
  host?: string;
  /** `"openai"` (default) talks to the real endpoints; `"simulator"` starts the local stand-in in this process. */
  upstream?: "openai" | "simulator";
  /** Passed to `startSimulator` when `upstream` is `"simulator"`. */
  simulatorOptions?: SimulatorOptions;
  /** Signs the session cookie. Default: random per run (sessions then end on restart). */
  cookieSecret?: string;
  /** Override the issuer / backend the runner talks to (tests point these at a closed port). */
  issuer?: string;
  backendBaseUrl?: string;
  /** How often the page polls `/status` while waiting. Default 2000 ms. */
  pollIntervalMs?: number;
  /** The built page. Default `demo/dist`. */
  distDir?: string;
  /** Host names the demo answers to. Default the loopback names (a guard against DNS rebinding). */
  allowedHosts?: readonly string[];
  /** Audit events of the contract routes (logins, runs, rejections); they carry no token. */
  onEvent?: (event: CodexAuditEvent) => void;
  /** Serve HTTPS with this key and certificate; cookies are then Secure with the `__Host-` prefix. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** A running demo. */
export interface RunningDemo {
  /** `http://localhost:PORT/` (`https://` with `tls`). */
  url: string;
  port: number;
  /** The in-process simulator, in simulator mode. */
  sim?: Simulator;
  /** True when no cookie secret was given and a random one is in use. */
  cookieSecretGenerated: boolean;
  close(): Promise<void>;
}

const BASE_PATH = "/api/codex";

/**
 * Start the demo: the built page, its config, and the contract routes (Express +
 * `createCodexRouter` + `directRunner`), optionally against an in-process simulator.
 *
 * @example
 * const demo = await startDemo({ port: 0, upstream: "simulator" });
 * console.log(demo.url);
 * await demo.close();
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const upstream = options.upstream ?? "openai";
  const sim = upstream === "simulator" ? await startSimulator(options.simulatorOptions ?? {}) : undefined;
  const cookieSecret = options.cookieSecret ?? randomBytes(32).toString("base64url");
  const issuer = options.issuer ?? sim?.url;
  const backendBaseUrl = options.backendBaseUrl ?? (sim ? `${sim.url}/backend-api` : undefined);
  const runner = directRunner({
    ...(issuer ? { issuer } : {}),
    ...(backendBaseUrl ? { backendBaseUrl } : {}),
  });
  const config: DemoConfig = {
    upstream,
    basePath: BASE_PATH,
    // The simulator's approval page is plain http on loopback; only its exact origin is allowed.
    allowedLoginOrigins: sim ? [new URL(options.issuer ?? sim.url).origin] : [],
    pollIntervalMs: options.pollIntervalMs ?? 2000,
  };
  const distDir = options.distDir ?? DEFAULT_DIST_DIR;

  const app = express();
  app.disable("x-powered-by");
  app.use(allowHosts(options.allowedHosts ?? LOOPBACK_HOSTS));
  app.use(pageSecurityHeaders);
  app.get(DEMO_CONFIG_PATH, (_req, res) => {
    res.set("Cache-Control", "no-store").json(config);
  });
  // Plain HTTP on localhost: Secure cookies would never be sent back, so they are off there only.
  const secure = options.tls !== undefined;
  app.use(
    createCodexRouter({
      runner,
      cookieSecret,
      basePath: BASE_PATH,
      cookieOptions: { secure },
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    }),
  );
  app.use(express.static(distDir, { index: "index.html", fallthrough: true }));
  app.use((_req, res) => {
    const built = existsSync(join(distDir, "index.html"));
    res.status(404).type("text/plain").send(built ? "Not found" : "The demo page is not built: run `npm start`.");
  });

  const server = options.tls ? createHttpsServer(options.tls, app) : createHttpServer(app);
  try {
    await listen(server, options.port ?? 8787, options.host ?? "127.0.0.1");
  } catch (error) {
    await sim?.close(); // e.g. the port is taken: leave nothing running behind
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${secure ? "https" : "http"}://localhost:${port}/`,
    port,
    ...(sim ? { sim } : {}),
    cookieSecretGenerated: options.cookieSecret === undefined,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sim?.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
