import { describe, expect, it } from "vitest";
import { createCodexHandler } from "../../../src/backend/core/handler.js";
import { createMemorySessionStore } from "../../../src/backend/sessions/memory-store.js";
import { BASE, Browser, makeHarness, SECRET, sameOrigin } from "../../support/handler-harness.js";
import { createTestRunner } from "../../support/test-runner.js";
import { skewClock } from "../../support/clock.js";

const OTHER_SECRET = "Zq8!mV2#pL5@wX9$kT3^nB7&cF1*hJ4(";

/** GET /status with a raw Cookie header. */
function statusWith(handler: Browser["handler"], cookie: string): Promise<Response> {
  return handler(new Request(`${BASE}/status`, { headers: { ...sameOrigin(), cookie } }));
}

async function signedInBrowser() {
  const h = makeHarness();
  const browser = new Browser(h.handler);
  await browser.signIn(h.runner);
  return { ...h, browser, cookie: browser.cookie as string };
}

describe("session cookie attributes", () => {
  it("sets HttpOnly, Secure, SameSite=Strict, Path=/ and the __Host- prefix by default", async () => {
    const { handler } = makeHarness();
    const res = await new Browser(handler).post("/session");
    const line = res.headers.get("set-cookie") ?? "";
    expect(line.startsWith("__Host-codex_sid=")).toBe(true);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]) expect(line.split("; ")).toContain(attr);
    expect(line).not.toMatch(/Domain=/i);
  });

  it("drops Secure and the __Host- prefix only with cookieOptions.secure: false (local HTTP dev)", async () => {
    const { handler } = makeHarness({ cookieOptions: { secure: false } });
    const res = await new Browser(handler).post("/session");
    const line = res.headers.get("set-cookie") ?? "";
    expect(line.startsWith("codex_sid=")).toBe(true);
    expect(line).not.toMatch(/Secure/);
    expect(line).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it("refuses a __Host- cookie name without Secure at construction", () => {
    expect(() => makeHarness({ cookieName: "__Host-x", cookieOptions: { secure: false } })).toThrow(/__Host-/);
  });
});

describe("cookieSecret strength", () => {
  const runner = createTestRunner();
  it.each([
    ["too short", "short-secret-15"],
    ["one repeated character", "aaaaaaaaaaaaaaaaaaaaaaaa"],
    ["few distinct characters", "abababababababaabbbaabab"],
    ["a repeated pattern", "s3cr3t!s3cr3t!s3cr3t!"],
    ["a sequential run", "abcdefghijklmnopqrstuvwx"],
    ["digits in a row", "01234567890123456789"],
    ["a template placeholder", "your-secret-here-change-me"],
    ["an .env example value", "EXAMPLE_cookie_value_8f3kQ2"],
    ["a replace-me marker", "Kq8-replace-me-Zx93-Lm27"],
  ])("throws at construction for %s", (_label, secret) => {
    expect(() => createCodexHandler({ runner, cookieSecret: secret })).toThrow(/cookieSecret/);
  });

  it("throws when any secret of a rotation list is weak", () => {
    expect(() => createCodexHandler({ runner, cookieSecret: [SECRET, "password"] })).toThrow(/cookieSecret\[1\]/);
  });

  it("accepts a random 32-character secret", () => {
    expect(() => createCodexHandler({ runner, cookieSecret: SECRET })).not.toThrow();
  });
});

describe("tampered and malformed cookies count as no session (never a 500)", () => {
  it("rejects every single-bit flip of the id and of the signature", async () => {
    const { handler, cookie } = await signedInBrowser();
    const [name, value] = cookie.split("=") as [string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let tried = 0;
    for (let i = 0; i < value.length; i += 3) {
      const c = value[i] as string;
      if (c === ".") continue;
      // Flip the lowest bit of the character's 6-bit value.
      const flipped = alphabet[alphabet.indexOf(c) ^ 1] as string;
      const res = await statusWith(handler, `${name}=${value.slice(0, i)}${flipped}${value.slice(i + 1)}`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ ok: false, status: "logged_out", code: "NO_SESSION" });
      tried++;
    }
    expect(tried).toBeGreaterThan(25);
    expect((await statusWith(handler, cookie)).status).toBe(200);
  });

  it("rejects a cookie signed with another secret", async () => {
    const mine = makeHarness();
    const theirs = makeHarness({ cookieSecret: OTHER_SECRET, sessionStore: mine.store });
    const browser = new Browser(theirs.handler);
    await browser.post("/session");
    expect((await statusWith(mine.handler, browser.cookie as string)).status).toBe(401);
  });

  it.each([
    ["bad %-encoding", "%E0%A4%A"],
    ["a lone %", "%"],
    ["an empty value", ""],
    ["no signature", "A".repeat(43)],
    ["a non-canonical base64url signature", `${"A".repeat(43)}.${"A".repeat(42)}B`],
    ["JSON", '{"id":"x"}'],
    ["a quoted garbage value", '"abc.def"'],
    ["control characters", "a\u0001b"],
  ])("treats %s as no session", async (_label, value) => {
    const { handler } = makeHarness();
    const res = await statusWith(handler, `__Host-codex_sid=${value}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: "logged_out" });
  });

  it("treats a huge cookie header as no session", async () => {
    const { handler, cookie } = await signedInBrowser();
    const res = await statusWith(handler, `junk=${"x".repeat(20_000)}; ${cookie}`);
    expect(res.status).toBe(401);
  });

  it("survives many cookies and finds a valid one among a few same-name decoys", async () => {
    const { handler, cookie } = await signedInBrowser();
    const filler = Array.from({ length: 200 }, (_, i) => `c${i}=v${i}`).join("; ");
    const decoy = `__Host-codex_sid=${"B".repeat(43)}.${"C".repeat(43)}`;
    expect((await statusWith(handler, `${filler}; ${decoy}; ${cookie}`)).status).toBe(200);
  });

  it("does not let a cookie value move between cookie names", async () => {
    const a = makeHarness({ cookieName: "__Host-a" });
    const b = makeHarness({ cookieName: "__Host-b", sessionStore: a.store });
    const browser = new Browser(a.handler);
    await browser.post("/session");
    const value = (browser.cookie as string).split("=")[1];
    const res = await b.handler(new Request(`${BASE}/status`, { headers: { cookie: `__Host-b=${value}` } }));
    expect(await res.json()).toMatchObject({ code: "NO_SESSION" });
  });
});

describe("secret rotation", () => {
  it("verifies cookies signed with an older secret and signs new ones with the first", async () => {
    const store = createMemorySessionStore({ sweepIntervalMs: 0 });
    const runner = createTestRunner();
    const before = makeHarness({ cookieSecret: OTHER_SECRET, sessionStore: store }, runner);
    const browser = new Browser(before.handler);
    await browser.signIn(runner);
    const oldCookie = browser.cookie as string;

    const after = makeHarness({ cookieSecret: [SECRET, OTHER_SECRET], sessionStore: store }, runner);
    expect((await statusWith(after.handler, oldCookie)).status).toBe(200);

    const fresh = new Browser(after.handler);
    await fresh.post("/session");
    const onlyNew = makeHarness({ cookieSecret: SECRET, sessionStore: store }, runner);
    expect(await (await statusWith(onlyNew.handler, fresh.cookie as string)).json()).toMatchObject({ code: "NOT_AUTHENTICATED" });
    expect(await (await statusWith(onlyNew.handler, oldCookie)).json()).toMatchObject({ code: "NO_SESSION" });
  });
});

describe("session fixation", () => {
  it("gives a new cookie on sign-in and the pre-login cookie grants nothing afterwards", async () => {
    const clock = skewClock(); // the store times the grace period: the test moves past it without sleeping
    const store = createMemorySessionStore({ sweepIntervalMs: 0, now: clock.now });
    const { handler, runner } = makeHarness({ limits: { rotationGraceMs: 50 }, sessionStore: store, now: clock.now });
    const browser = new Browser(handler);
    await browser.post("/session");
    const planted = browser.cookie as string; // what an attacker could have fixed in the victim's browser
    await browser.post("/login/start");
    runner.approve();
    expect((await browser.get("/status")).status).toBe(200);
    expect(browser.cookie).not.toBe(planted);

    const attacker = new Browser(handler);
    attacker.cookie = planted;
    const during = await attacker.get("/status");
    expect(during.status).toBe(409);
    expect(await during.json()).toMatchObject({ code: "SESSION_ROTATED" });
    expect((await attacker.post("/run/stream", { prompt: "hi" })).status).toBe(409);
    expect((await attacker.post("/login/start")).status).toBe(409);

    clock.advance(80);
    const later = await attacker.get("/status");
    expect(later.status).toBe(401);
    expect((await attacker.post("/run/stream", { prompt: "hi" })).status).toBe(401);
    // The victim is still signed in.
    expect((await browser.get("/status")).status).toBe(200);
  });

  it("rotates when /login/start answers loggedIn for a session that was not yet authenticated", async () => {
    const { handler, runner, store } = makeHarness();
    const browser = new Browser(handler);
    await browser.signIn(runner);
    // A second browser whose session the runner already considers signed in (tokens left in data).
    const other = new Browser(handler);
    await other.post("/session");
    const id = (other.cookie as string).split("=")[1]?.split(".")[0] as string;
    const stored = await store.get(id);
    expect(stored.state).toBe("active");
    const original = runner.startDeviceLogin.bind(runner);
    runner.startDeviceLogin = async () => ({ status: "authenticated", account: { email: "ann@example.com" } });
    const before = other.cookie;
    const res = await other.post("/login/start");
    expect(await res.json()).toEqual({ ok: true, loggedIn: true, account: { email: "ann@example.com" } });
    expect(other.cookie).not.toBe(before);
    runner.startDeviceLogin = original;
  });
});
