import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmacSha256 } from "../../../src/backend/http/hmac.js";

describe("hmacSha256", () => {
  it("matches RFC 4231 test case 2 (a short key)", () => {
    const mac = hmacSha256(Buffer.from("Jefe"));
    expect(mac("what do ya want for nothing?").toString("hex")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("matches RFC 4231 test case 6 (a key longer than the block is hashed first)", () => {
    const mac = hmacSha256(Buffer.alloc(131, 0xaa));
    expect(mac("Test Using Larger Than Block-Size Key - Hash Key First").toString("hex")).toBe(
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
  });

  it("equals createHmac for any key and message, multi-byte text included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.string({ unit: "binary" }), (key, message) => {
        const expected = createHmac("sha256", key).update(message, "utf8").digest("hex");
        expect(hmacSha256(Buffer.from(key))(message).toString("hex")).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps one key's pads apart from another's (two MACs prepared side by side)", () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const macA = hmacSha256(a);
    const macB = hmacSha256(b);
    expect(macA("x").equals(createHmac("sha256", a).update("x").digest())).toBe(true);
    expect(macB("x").equals(createHmac("sha256", b).update("x").digest())).toBe(true);
  });
});
