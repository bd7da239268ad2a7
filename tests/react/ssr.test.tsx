import { renderToString } from "react-dom/server";
import { describe, expect, it, vi } from "vitest";
import { CodexAuth } from "../../src/index.js";

describe("server rendering", () => {
  it("renders the signed-out UI without window, storage or requests", () => {
    const fetch = vi.fn();
    expect(typeof window).toBe("undefined");
    const html = renderToString(<CodexAuth fetch={fetch as unknown as typeof globalThis.fetch} />);
    expect(html).toContain("Login with ChatGPT");
    expect(html).toContain('aria-live="polite"');
    expect(fetch).not.toHaveBeenCalled();
  });
});
