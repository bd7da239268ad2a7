/** The `codex-auth-simulator` bin: prints its URL, serves, stops cleanly on SIGINT and SIGTERM. */
import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";

const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  children.clear();
});

/** Start the bin from source and resolve with its first stdout line (the URL). */
function startBin(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/simulator/bin.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${stderr}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) {
        clearTimeout(timer);
        resolve({ child, url: line.trim(), stderr: () => stderr });
      }
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("codex-auth-simulator", () => {
  it("prints its URL, serves the approval page and stops on SIGTERM", async () => {
    const { child, url } = await startBin(["--interval", "2"]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/codex/device`)).status).toBe(200);
    const res = await fetch(`${url}/api/accounts/deviceauth/usercode`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann" }),
    });
    expect(((await res.json()) as { interval: string }).interval).toBe("2");
    const exited = exitOf(child);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/codex/device`)).rejects.toThrow();
  });

  it("logs method and path (never bodies) with --verbose and stops on SIGINT", async () => {
    const { child, url, stderr } = await startBin(["--verbose"]);
    await fetch(`${url}/nowhere?x=1`);
    await new Promise((done) => setTimeout(done, 100));
    expect(stderr()).toContain("GET /nowhere?x=1 -> unknown");
    const exited = exitOf(child);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("prints the server and client lines that point an app at its URL (without the /backend-api trap), and only the URL with --quiet", async () => {
    for (const quiet of [false, true]) {
      const child = spawn(process.execPath, ["--import", "tsx", "src/simulator/bin.ts", ...(quiet ? ["--quiet"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
      children.add(child);
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const printed = new Promise<void>((resolve) => child.stdout?.on("data", () => out.includes("\n") && (quiet || out.includes("Ctrl+C")) && resolve()));
      await printed;
      const exited = exitOf(child);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const url = out.split("\n")[0]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      if (quiet) {
        expect(out).toBe(`${url}\n`);
        continue;
      }
      expect(out).toContain(`directRunner({ upstream: "${url}" })`);
      expect(out).toContain(`allowedLoginOrigins={["${url}"]}`);
      expect(out).toMatch(new RegExp(`CODEX_UPSTREAM=${url} COOKIE_SECRET=\\S+ npx tsx server\\.ts`));
      expect(out).toContain(`VITE_CODEX_UPSTREAM=${url} npx vite`);
      expect(out).toContain(`${url}/codex/device`);
    }
  });

  it("refuses a bad option with a usage message and exit code 2", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/simulator/bin.ts", "--port", "banana"], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitOf(child)).toBe(2);
    expect(stderr).toContain("--port must be a non-negative number");
    expect(stderr).toContain("Usage: codex-auth-simulator");
  });
});
