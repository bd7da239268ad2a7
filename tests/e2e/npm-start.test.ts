/**
 * `npm start` as a newcomer runs it (offline variant): it builds the page if
 * needed, prints the URL and the cookie warnings, serves the page and the
 * contract, and stops on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT_DIR } from "./harness.js";

let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

/** Resolves with everything printed once `pattern` shows up on stdout. */
function waitForOutput(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`)));
  });
}

describe("npm start", () => {
  it("serves the offline demo on the printed URL with the cookie warnings, and stops on SIGTERM", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CODEX_UPSTREAM: "simulator", PORT: "0" };
    delete env.COOKIE_SECRET;
    delete env.NODE_ENV;
    child = spawn(process.execPath, ["--conditions=codex-auth-source", "--import", "tsx", "demo/start.ts"], { cwd: ROOT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
    const out = await waitForOutput(child, /codex-auth demo: (http:\/\/localhost:\d+\/)/, 60_000);
    const url = /codex-auth demo: (http:\/\/localhost:\d+\/)/.exec(out)![1]!;
    expect(out).toMatch(/COOKIE_SECRET is not set.*random secret.*sessions end when the server restarts/);
    expect(out).toMatch(/Secure cookies are off only because this demo serves plain HTTP on localhost/);
    expect(out).toMatch(/Offline mode: the upstream simulator runs at http:\/\/127\.0\.0\.1:\d+/);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>codex-auth demo");
    const config = (await (await fetch(new URL("/demo-config.json", url))).json()) as { upstream: string; allowedLoginOrigins: string[] };
    expect(config.upstream).toBe("simulator");
    expect(config.allowedLoginOrigins).toHaveLength(1);
    const session = await fetch(new URL("/api/codex/session", url), {
      method: "POST",
      headers: { origin: new URL(url).origin, "content-type": "application/json" },
      body: "{}",
    });
    expect(session.status).toBe(200);
    expect(session.headers.get("set-cookie")).toMatch(/^codex_sid=.*HttpOnly.*SameSite=Strict/i);

    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});
