import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeHandler } from "../../../src/backend/adapters/node.js";
import { cookieValues, createCookieSigner, type CookieSigner } from "../../../src/backend/http/cookies.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { handleFromId, newSessionId } from "../../../src/backend/sessions/session-id.js";
import { SECRET } from "../../support/handler-harness.js";
import { createTestRunner } from "../../support/test-runner.js";

const NAME = "__Host-codex_sid";
const SIGNING = "prop-cookie-Signing-7Hq2Lx9Vr4Tz1Mw";
const ROTATED_OUT = "prop-cookie-Older-3Nd8Kb5Yc6Jf0Pe";
const ATTACKER = "prop-cookie-Attacker-5Ws1Gu8Re2Xo4";
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A session id as the backend makes them: 43 base64url characters (any, not only fresh random ones). */
const sessionId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  fc.constant(null).map(() => newSessionId()),
);
/** Characters an attacker would try: the whole of Unicode, plus the ones cookie parsing treats specially. */
const anyChar = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.constantFrom('"', "%", "=", ",", " ", "\t", ".", "\0", "\u00a0", "\ufeff", "A", "B", "-", "_", "+", "/"),
);
/** Whole values an attacker can send without knowing a secret: noise, and strings shaped exactly like `id.mac`. */
const noiseValue = fc.oneof(
  fc.string({ unit: "binary", maxLength: 120 }),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/),
  fc.stringMatching(/^[A-Za-z0-9+/=_-]{40,46}\.[A-Za-z0-9+/=_-]{40,46}$/),
);
/** Separators between cookie pairs a client or a proxy may produce. */
const separator = fc.constantFrom(";", "; ", " ;", ";;", " ; ", ";\t", ",", ", ", " ", "\t");
/** A pair for some other cookie: its name is never ours once trimmed. */
const otherPair = fc
  .tuple(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), fc.string({ unit: "grapheme-ascii", maxLength: 30 }))
  .filter(([name, value]) => name.trim() !== NAME && !name.includes(";") && !name.includes("=") && !value.includes(";"))
  .map(([name, value]) => `${name}=${value}`);

function signerFor(): CookieSigner {
  return createCookieSigner([SIGNING, ROTATED_OUT], NAME);
}

/** `value` with `extension` glued to one end, as one cookie value (no `;` so it stays one value). */
function extended(value: string, extension: string, atStart: boolean): string {
  return atStart ? extension + value : value + extension;
}

describe("cookie signatures", () => {
  const runs = 1000;
  const signer = signerFor();
  const genuine = sessionId;

  it("verifies every genuine value, signed with either secret, whatever the other cookies around it", async () => {
    const older = createCookieSigner([ROTATED_OUT], NAME);
    await fc.assert(
      fc.asyncProperty(
        genuine,
        fc.boolean(),
        fc.array(otherPair, { maxLength: 4 }),
        fc.constantFrom(";", "; ", " ; ", ";;"),
        fc.nat(),
        async (id, withOlder, others, glue, at) => {
          const value = await (withOlder ? older : signer).sign(id);
          const pairs = [...others];
          pairs.splice(at % (pairs.length + 1), 0, `${NAME}=${value}`);
          expect(await signer.verify(pairs.join(glue))).toBe(id);
        },
      ),
      { numRuns: runs },
    );
  });

  it("never throws and never accepts a value it did not sign, whatever the header holds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 300 }),
          noiseValue.map((value) => `${NAME}=${value}`),
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("utf8")),
        ),
        async (header) => {
          expect(await signer.verify(header)).toBeNull();
        },
      ),
      { numRuns: runs },
    );
  });

  it("rejects every single-character change of a genuine value", async () => {
    await fc.assert(
      fc.asyncProperty(genuine, fc.nat({ max: 86 }), anyChar, async (id, position, arbitrary) => {
        const value = await signer.sign(id);
        expect(await signer.verify(`${NAME}=${value}`)).toBe(id); // now in the verified cache too
        // Every base64url letter at this position (the MAC's last one has spare bits: a second spelling), and one arbitrary character.
        const accepted: string[] = [];
        for (const replacement of [...BASE64URL, arbitrary]) {
          if (value[position] === replacement) continue;
          const forged = value.slice(0, position) + replacement + value.slice(position + 1);
          if ((await signer.verify(`${NAME}=${forged}`)) !== null) accepted.push(forged);
        }
        expect(accepted).toEqual([]);
      }),
      { numRuns: runs / 4 },
    );
  });

  it("rejects every truncation and every character removed", async () => {
    await fc.assert(
      fc.asyncProperty(genuine, fc.nat(), fc.constantFrom("prefix", "suffix", "removal"), async (id, at, how) => {
        const value = await signer.sign(id);
        expect(await signer.verify(`${NAME}=${value}`)).toBe(id); // now in the verified cache too
        const from = at % value.length;
        const forged =
          how === "prefix" ? value.slice(0, from) : how === "suffix" ? value.slice(from + 1) : value.slice(0, from) + value.slice(from + 1);
        expect(await signer.verify(`${NAME}=${forged}`)).toBeNull();
      }),
      { numRuns: runs },
    );
  });

  it("rejects every extension of a genuine value at either end", async () => {
    await fc.assert(
      fc.asyncProperty(
        genuine,
        // Only whitespace at an end is cookie syntax (OWS), not part of the value; `;` starts the next cookie.
        fc.string({ unit: "binary", minLength: 1, maxLength: 8 }).filter((extra) => extra.trim() !== "" && !extra.includes(";")),
        fc.boolean(),
        async (id, extra, atStart) => {
          const value = await signer.sign(id);
          expect(await signer.verify(`${NAME}=${value}`)).toBe(id); // now in the verified cache too
          expect(await signer.verify(`${NAME}=${extended(value, extra, atStart)}`)).toBeNull();
        },
      ),
      { numRuns: runs },
    );
  });

  it("rejects a value signed with any other secret, or for another cookie name", async () => {
    await fc.assert(
      fc.asyncProperty(
        genuine,
        // HMAC pads short keys with zero bytes, so "k" and "k\0" are one key: such twins of our secrets are not "other".
        fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).filter((secret) => ![SIGNING, ROTATED_OUT].includes(secret.replace(/\0+$/, ""))),
        fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 20 }).filter((name) => name.trim() !== NAME && !/[;=]/.test(name)),
        async (id, otherSecret, otherName) => {
          const foreign = await createCookieSigner([otherSecret], NAME).sign(id);
          const moved = await createCookieSigner([SIGNING], otherName).sign(id);
          expect(await signer.verify(`${NAME}=${foreign}`)).toBeNull();
          expect(await signer.verify(`${NAME}=${moved}`)).toBeNull();
          expect(await signer.verify(`${otherName}=${await signer.sign(id)}`)).toBeNull();
        },
      ),
      { numRuns: runs },
    );
  });

  it("lets no mix of forged same-name cookies, genuine values under other names and odd separators pass", async () => {
    const attacker = createCookieSigner([ATTACKER], NAME);
    const forgedPart = fc.oneof(
      noiseValue.map((value) => `${NAME}=${value}`),
      sessionId.map((id) => `${NAME}=${id}.${"A".repeat(43)}`),
      fc.constant(`${NAME}=`),
      fc.constant(NAME),
      fc.constant(` ${NAME} = "" `),
    );
    const attackerSigned = sessionId.map((id) => ({ id }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(forgedPart, otherPair, attackerSigned), { minLength: 1, maxLength: 8 }),
        fc.array(separator, { minLength: 8, maxLength: 8 }),
        async (parts, glues) => {
          const texts: string[] = [];
          for (const part of parts) {
            // A value the attacker signed with their own secret, sent under our name, in quotes, or %-encoded.
            if (typeof part === "string") texts.push(part);
            else {
              const value = await attacker.sign(part.id);
              texts.push(`${NAME}=${value}`, `${NAME}="${value}"`, `${NAME}=${encodeURIComponent(value).replace(/A/g, "%41")}`);
            }
          }
          const header = texts.reduce((joined, text, index) => (index === 0 ? text : joined + (glues[index % glues.length] as string) + text), "");
          expect(await signer.verify(header)).toBeNull();
        },
      ),
      { numRuns: runs },
    );
  });

  it("finds the genuine value among up to three forged same-name cookies, in any order", async () => {
    await fc.assert(
      fc.asyncProperty(
        genuine,
        fc.array(noiseValue, { maxLength: 3 }),
        fc.nat(),
        fc.constantFrom(";", "; ", " ; ", ";;"),
        async (id, forgeries, at, glue) => {
          const parts = forgeries.map((value) => `${NAME}=${value}`);
          parts.splice(at % (parts.length + 1), 0, `${NAME}=${await signer.sign(id)}`);
          expect(await signer.verify(parts.join(glue))).toBe(id);
        },
      ),
      { numRuns: runs },
    );
  });
});

describe("cookie parsing and session ids", () => {
  it("never throws on any header and hands over at most four candidates (cookie tossing cannot make it work harder)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), fc.constantFrom(NAME, "a", "x y"), (header, name) => {
        expect(cookieValues(header, name).length).toBeLessThanOrEqual(4);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a plain value back exactly, wherever it sits among other cookies", () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9._~!#$&'()*+\-\/:<>?@[\]^`{|}]{0,60}$/);
    fc.assert(
      fc.property(plain, fc.array(otherPair, { maxLength: 4 }), fc.nat(), (value, others, at) => {
        const pairs = [...others];
        pairs.splice(at % (pairs.length + 1), 0, `${NAME}=${value}`);
        expect(cookieValues(pairs.join("; "), NAME)).toEqual([value]);
      }),
      { numRuns: 1000 },
    );
  });

  it("makes fresh ids of 43 base64url characters that sign and verify, with handles that are neither id nor prefix", async () => {
    const signer = signerFor();
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const id = newSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect([...id].every((character) => BASE64URL.includes(character))).toBe(true);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      expect(await signer.verify(`${NAME}=${await signer.sign(id)}`)).toBe(id);
      const handle = handleFromId(id);
      expect(handle).toHaveLength(32);
      expect(id.includes(handle) || handle.includes(id.slice(0, 16))).toBe(false);
    }
  });
});

describe("any Cookie bytes through a real Node server", () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    const handler = createNodeHandler({
      runner: createTestRunner(),
      cookieSecret: SECRET,
      rateLimits: false,
      sessionStore: createMemorySessionStore({ sweepIntervalMs: 0 }),
      cookieOptions: { secure: false },
    });
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** One request on its own connection, the Cookie header written as raw bytes; resolves with status and body. */
  function rawRequest(method: string, path: string, cookie: Buffer | null): Promise<{ status: number; head: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("no answer within 3 s"));
      }, 3000);
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("latin1");
        const split = text.indexOf("\r\n\r\n");
        resolve({ status: Number(text.slice(9, 12)), head: text.slice(0, split), body: text.slice(split + 4) });
      });
      const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n`;
      socket.end(
        Buffer.concat([
          Buffer.from(head, "latin1"),
          cookie === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from("Cookie: "), cookie, Buffer.from("\r\n")]),
          Buffer.from("\r\n"),
        ]),
      );
    });
  }

  it("answers any Cookie bytes with a clean refusal: never a 500, never a session", async () => {
    const start = await rawRequest("POST", "/api/codex/session", null);
    const genuine = /set-cookie: (codex_sid=[^;]+)/i.exec(start.head)?.[1] as string;
    expect(genuine).toMatch(/^codex_sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    const withGenuine = await rawRequest("GET", "/api/codex/status", Buffer.from(genuine));
    expect(JSON.parse(withGenuine.body)).not.toMatchObject({ code: "NO_SESSION" });

    // Bytes a client can put on the wire: anything but CR and LF (which would end the header line).
    const headerBytes = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 13 && byte !== 10)));
    const value = genuine.slice("codex_sid=".length);
    const tampered = fc.tuple(fc.nat(), anyChar.filter((character) => character !== "\r" && character !== "\n")).map(([at, replacement]) => {
      const position = at % value.length;
      return Buffer.from(`codex_sid=${value.slice(0, position)}${replacement === value[position] ? "~" : replacement}${value.slice(position + 1)}`);
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(headerBytes, tampered), async (cookie) => {
        const answer = await rawRequest("GET", "/api/codex/status", cookie);
        // Node's parser refuses some bytes (400) before the handler; otherwise the handler says NO_SESSION.
        if (answer.status === 400) return;
        expect(answer.status).toBe(401);
        expect(JSON.parse(answer.body)).toMatchObject({ code: "NO_SESSION" });
      }),
      { numRuns: 200 },
    );
  });
});
