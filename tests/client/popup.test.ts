// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { closePopup, HOLDING_TEXT, openLoginPopup } from "../../src/client/popup.js";

afterEach(() => vi.unstubAllGlobals());

describe("login popup", () => {
  // happy-dom's `opener` is read-only (browsers let the opener clear it); login.test.ts checks the clearing.
  it("opens a blank window showing the constant holding text", () => {
    const w = openLoginPopup();
    expect(w).not.toBeNull();
    expect(w!.document.body.textContent).toBe(HOLDING_TEXT);
    // Text, not markup: nothing in the holding screen is parsed as HTML.
    expect(w!.document.body.children).toHaveLength(0);
    closePopup(w);
  });

  it("keeps the holding screen free of any server data", () => {
    expect(HOLDING_TEXT).not.toMatch(/[<>&"']/);
  });

  it("returns null when the browser blocks it", () => {
    vi.stubGlobal("open", () => null);
    expect(openLoginPopup()).toBeNull();
  });

  it("returns null when opening throws (sandboxed frames)", () => {
    vi.stubGlobal("open", () => {
      throw new DOMException("blocked", "SecurityError");
    });
    expect(openLoginPopup()).toBeNull();
  });

  it("closes it, and tolerates nothing to close", () => {
    const w = { close: vi.fn() } as unknown as Window;
    closePopup(w);
    expect(w.close).toHaveBeenCalled();
    expect(() => closePopup(null)).not.toThrow();
  });
});
