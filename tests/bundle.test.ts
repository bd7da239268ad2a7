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
