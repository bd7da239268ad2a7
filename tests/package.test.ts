import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  name: string;
  exports: Record<string, unknown>;
};
const entries = Object.keys(pkg.exports).filter((k) => k !== "./package.json");

/** What each entry must export, by name, in both module formats. */
const expected: Record<string, string[]> = {
  ".": ["CodexAuth", "useCodexAuth", "createCodexClient"],
  "./client": ["createCodexClient", "isAllowedLoginUrl"],
  "./backend": [
    "createCodexHandler",
    "handleCodexRequest",
    "createCodexRouter",
    "createNodeHandler",
    "createMemorySessionStore",
    "CodexError",
    // The contract's constants, declared as values in index.d.ts: they must exist at run time too.
    "DEFAULT_BASE_PATH",
    "ROUTES",
    "NDJSON_CONTENT_TYPE",
  ],
  "./backend/redis": ["createRedisSessionStore"],
  "./backend/direct": ["directRunner"],
  "./backend/cli": ["cliRunner", "sanitizeCliText"],
  "./backend/app-server": ["appServerRunner"],
  "./backend/next": ["createCodexRouteHandlers"],
  "./backend/fastify": ["codexFastify"],
  "./backend/hono": ["codexHono"],
  "./backend/worker": ["createCodexProxy"],
  "./ai": ["createCodexAI", "codexErrorOf"],
  "./simulator": ["startSimulator"],
};

// Node resolves a package's own name through its "exports" (self-reference), so
// these imports go exactly where a user's would.
async function exportsOf(specifier: string, format: "esm" | "cjs"): Promise<string[]> {
  const code =
    format === "esm"
      ? `import(${JSON.stringify(specifier)}).then(m => console.log(JSON.stringify(Object.keys(m))))`
      : `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)}))))`;
  const { stdout } = await run(process.execPath, [format === "esm" ? "--input-type=module" : "--input-type=commonjs", "-e", code], { cwd: root });
  return JSON.parse(stdout.trim()) as string[];
}

describe("the published package", () => {
  beforeAll(async () => {
    await run(process.execPath, [`${root}node_modules/tsup/dist/cli-default.js`], { cwd: root });
  }, 180_000);

  it("declares every entry the tests expect", () => {
    expect(entries.sort()).toEqual(Object.keys(expected).sort());
  });

  for (const entry of Object.keys(expected)) {
    const specifier = entry === "." ? pkg.name : `${pkg.name}${entry.slice(1)}`;
    it(`loads ${specifier} as ESM and as CommonJS with its public names`, async () => {
      for (const format of ["esm", "cjs"] as const) {
        const names = await exportsOf(specifier, format);
        for (const name of expected[entry]!) expect(names, `${format} ${specifier}`).toContain(name);
      }
    });
  }

  it("lets codex-auth/ai find the sessions of a handler made from the same options, across module formats", async () => {
    // The handler from the CommonJS build, the AI provider from the ES build: two copies of the handler's code.
    const code = `
      const { createCodexHandler } = require("codex-auth/backend");
      const account = { email: "a@example.com" };
      const runner = {
        startDeviceLogin: async (ctx) => { ctx.data.in = true; return { status: "authenticated", account }; },
        getStatus: async (ctx) => (ctx.data.in ? { status: "authenticated", account } : { status: "logged_out" }),
        run: async function* () {},
        logout: async () => {},
        responses: async () => new Response(""),
      };
      const options = { runner, cookieSecret: "kR3v9-QpZ7xW2mLs8YbT4nHc6JfD1gAe", cookieOptions: { secure: false }, rateLimits: false };
      const handler = createCodexHandler(options);
      const post = (path, cookie) =>
        handler(new Request("http://app.test/api/codex" + path, { method: "POST", headers: { origin: "http://app.test", ...(cookie ? { cookie } : {}) } }));
      import("codex-auth/ai").then(async ({ createCodexAI }) => {
        let cookie = (await post("/session")).headers.get("set-cookie").split(";")[0];
        const started = await post("/login/start", cookie);
        cookie = (started.headers.get("set-cookie") ?? cookie).split(";")[0];
        const provider = await createCodexAI(options).providerFor(new Request("http://app.test/api/chat", { headers: { cookie } }));
        console.log(typeof provider.languageModel);
      });`;
    const { stdout } = await run(process.execPath, ["--input-type=commonjs", "-e", code], { cwd: root });
    expect(stdout.trim()).toBe("function");
  });

  it("ships type declarations for both formats of every entry", () => {
    for (const entry of entries) {
      const conditions = pkg.exports[entry] as Record<"import" | "require", { types: string }>;
      for (const format of ["import", "require"] as const) {
        expect(() => readFileSync(new URL(`../${conditions[format].types}`, import.meta.url))).not.toThrow();
      }
    }
  });

  it("keeps the Worker proxy entry free of node: modules once built (it runs on fetch runtimes)", () => {
    for (const file of ["../dist/backend/worker.js", "../dist/backend/worker.cjs"]) {
      const code = readFileSync(new URL(file, import.meta.url), "utf8");
      expect(code).not.toMatch(/from ["']node:|require\(["']node:|import\(["']node:/);
      expect(code).not.toContain("createCodexHandler");
    }
  });

  it("keeps the browser entry free of server code once built", () => {
    const browser = readFileSync(new URL("../dist/client/index.js", import.meta.url), "utf8");
    expect(browser).not.toMatch(/from ["']node:|require\(["']node:/);
    expect(browser).not.toContain("createCodexHandler");
  });

  it('opens the React entry with "use client" in both formats, so a Next.js Server Component may import <CodexAuth>', () => {
    for (const file of ["../dist/index.js", "../dist/index.cjs"]) {
      const code = readFileSync(new URL(file, import.meta.url), "utf8");
      expect(code.split("\n", 1)[0], file).toBe('"use client";');
    }
    // Server entries stay plain modules: the directive would make Next treat them as client code.
    for (const file of ["../dist/backend/index.js", "../dist/backend/next.js"]) {
      expect(readFileSync(new URL(file, import.meta.url), "utf8")).not.toMatch(/^["']use client["']/);
    }
  });
});
