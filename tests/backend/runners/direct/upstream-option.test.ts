import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../../../src/backend/runners/direct/options.js";

describe("directRunner's upstream option", () => {
  it("points the sign-in at the base and the Codex backend at its /backend-api, as the simulator serves them", () => {
    const options = resolveOptions({ upstream: "http://127.0.0.1:4010/" });
    expect(options.issuer).toBe("http://127.0.0.1:4010");
    expect(options.backendBaseUrl).toBe("http://127.0.0.1:4010/backend-api");
  });

  it("lets an explicit issuer or backendBaseUrl win over it", () => {
    expect(resolveOptions({ upstream: "http://127.0.0.1:4010", issuer: "http://127.0.0.1:4020" })).toMatchObject({
      issuer: "http://127.0.0.1:4020",
      backendBaseUrl: "http://127.0.0.1:4010/backend-api",
    });
    expect(resolveOptions({ upstream: "http://127.0.0.1:4010", backendBaseUrl: "http://127.0.0.1:4030/api" }).backendBaseUrl).toBe(
      "http://127.0.0.1:4030/api",
    );
  });

  it("refuses a base that is not an http(s) URL", () => {
    expect(() => resolveOptions({ upstream: "127.0.0.1:4010" })).toThrow(/upstream must be/);
    expect(() => resolveOptions({ upstream: "file:///tmp/x" })).toThrow(/upstream must be an http/);
  });

  it("keeps the real endpoints when it is not given", () => {
    expect(resolveOptions({})).toMatchObject({ issuer: "https://auth.openai.com", backendBaseUrl: "https://chatgpt.com/backend-api" });
  });
});
