import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { measureBundle, type EntryName } from "../bench/bundle.bench.js";

describe.each<EntryName>(["codex-auth/client", "codex-auth"])("browser bundle %s", (entry) => {
  it("holds nothing from the backend and no node: module, and fits its budget", async () => {
    const f = await measureBundle(entry);
    console.log(`${entry}: ${f.minBytes} B min, ${f.gzipBytes} B min+gzip (budget ${f.budget})`);
    // The metafile lists every source file bundled: none may come from the backend or the simulator.
    expect(f.inputs.filter((p) => /(^|\/)src\/(backend|simulator)\//.test(p))).toEqual([]);
    expect(f.inputs.filter((p) => p.startsWith("node:") || p.includes("node_modules"))).toEqual([]);
    expect(f.externals.filter((p) => p.startsWith("node:"))).toEqual([]);
    expect(f.code).not.toMatch(/["'`]node:/);
    expect(f.gzipBytes).toBeLessThanOrEqual(f.budget);
  });
});

it("keeps React out of the client entry and external in the React entry", async () => {
  expect((await measureBundle("codex-auth/client")).externals).toEqual([]);
  const react = await measureBundle("codex-auth");
  expect(react.externals.every((p) => p == "react" || p.startsWith("react/"))).toBe(true);
  expect(react.externals).toContain("react");
});

describe("browser sources", () => {
  const files = () =>
    ["src/client", "src/react"].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => /\.tsx?$/.test(f))
        .map((f) => join(dir, f)),
    );

  it("import nothing from the backend, the simulator or node:, not even types", () => {
    const bad = files().flatMap((f) =>
      [...readFileSync(f, "utf8").matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g)]
        .map((m) => m[1] ?? m[2]!)
        .filter((spec) => spec.startsWith("node:") || /(^|\/)(backend|simulator)(\/|$)/.test(spec))
        .map((spec) => `${f}: ${spec}`),
    );
    expect(files().length).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });

  it("never render HTML from a string", () => {
    for (const f of files()) expect(readFileSync(f, "utf8"), f).not.toMatch(/dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
