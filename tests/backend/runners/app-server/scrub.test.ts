/** The streaming scrubber: a session token never leaves in agent text, however the text is cut into deltas. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamScrubber, scrubText } from "../../../../src/backend/runners/app-server/scrub.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyIsImV4cCI6MTc5NjI3ODI0N30.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu";
const SECRETS = [TOKEN, ...TOKEN.split(".")].sort((a, b) => b.length - a.length);

/** Feed `text` cut at `cuts` and join what comes out. */
function streamed(text: string, cuts: number[]): { out: string; pieces: string[] } {
  const scrubber = new StreamScrubber(SECRETS);
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const to of [...points, text.length]) {
    pieces.push(scrubber.push(text.slice(from, to)));
    from = to;
  }
  pieces.push(scrubber.flush());
  return { out: pieces.join(""), pieces };
}

describe("StreamScrubber", () => {
  it("replaces a token cut at every possible place, and never lets a piece of it out early", () => {
    const text = `before ${TOKEN} after`;
    for (let a = 0; a <= text.length; a++) {
      for (const b of [a + 1, a + 7, a + 40]) {
        const { out, pieces } = streamed(text, [a, b]);
        expect(out).toBe("before [redacted] after");
        for (const piece of pieces) expect(piece.includes(TOKEN.slice(0, 16)) || piece.includes(TOKEN.slice(-16))).toBe(false);
      }
    }
  });

  it("gives the same text as a whole-text replacement for any text and any cuts (property)", () => {
    const part = fc.constantFrom(TOKEN, ...TOKEN.split("."), TOKEN.slice(0, 30), "e", "ey", " ", "eyJ", "word", "é漢", "\n");
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, cuts) => {
        const text = parts.join("");
        expect(streamed(text, cuts).out).toBe(scrubText(text, SECRETS));
        expect(scrubText(text, SECRETS)).not.toContain(TOKEN.split(".")[1]);
      }),
      { numRuns: 500 },
    );
  });

  it("holds back only what could begin a token: ordinary text passes at once", () => {
    const scrubber = new StreamScrubber(SECRETS);
    expect(scrubber.push("Hello, world. ")).toBe("Hello, world. ");
    expect(scrubber.push("Look: ey")).toBe("Look: ");
    expect(scrubber.push("es open")).toBe("eyes open");
    expect(scrubber.flush()).toBe("");
  });
});
