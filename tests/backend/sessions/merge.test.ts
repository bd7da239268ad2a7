import { describe, expect, it } from "vitest";
import { mergePayload, type Payload } from "../../../src/backend/sessions/merge.js";

const tokens = (refreshToken: string) => ({ accessToken: `at-${refreshToken}`, refreshToken, expiresAt: 1 });
const signedIn = (direct: Record<string, unknown>, extra: Payload["d"] = {}): Payload => ({ h: "handle", a: 1, d: { direct, ...extra } });

describe("merging a write that lost a compare-and-set over the newer session", () => {
  it("reapplies a field only the loser changed, and keeps the fields only the winner changed", () => {
    const base = signedIn({ tokens: tokens("old") });
    const winner = signedIn({ tokens: tokens("new") });
    const loser = signedIn({ tokens: tokens("old"), conversationId: "conv-1" });
    expect(mergePayload(base, loser, winner)).toEqual(signedIn({ tokens: tokens("new"), conversationId: "conv-1" }));
  });

  it("keeps the stored value where both changed a field, and then the stored sign-in flag too", () => {
    // The loser saw its (old) tokens fail and cleared them, signing out; another instance had refreshed them.
    const base = signedIn({ tokens: tokens("old") });
    const winner = signedIn({ tokens: tokens("new") });
    const loser: Payload = { h: "handle" };
    expect(mergePayload(base, loser, winner)).toEqual(signedIn({ tokens: tokens("new") }));
  });

  it("applies a sign-out nobody else contradicted: the runner's section is dropped and the flag cleared", () => {
    const base = signedIn({ tokens: tokens("old"), conversationId: "c" });
    const winner = signedIn({ tokens: tokens("old"), conversationId: "c" }, { other: { note: 1 } });
    const loser: Payload = { h: "handle" };
    expect(mergePayload(base, loser, winner)).toEqual({ h: "handle", d: { other: { note: 1 } } });
  });

  it("takes the same change made on both sides once, without calling it a conflict", () => {
    const base: Payload = { h: "handle" };
    const both = signedIn({ tokens: tokens("t") });
    expect(mergePayload(base, both, both)).toEqual(both);
  });

  it("merges sections that are not records as whole values", () => {
    const base: Payload = { h: "handle", d: { list: [1] } };
    expect(mergePayload(base, { h: "handle", d: { list: [1, 2] } }, base)).toEqual({ h: "handle", d: { list: [1, 2] } });
    expect(mergePayload(base, { h: "handle", d: { list: [9] } }, { h: "handle", d: { list: [1, 3] } })).toEqual({ h: "handle", d: { list: [1, 3] } });
  });
});
