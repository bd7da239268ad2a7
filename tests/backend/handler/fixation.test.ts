/**
 * Session fixation by racing the rotation: an attacker who planted the
 * victim's pre-login cookie (from a sibling subdomain over plain HTTP, or by
 * a same-origin script) and polls as fast as it can must never end up
 * holding the signed-in session. Real directRunner, real simulator.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Client, sleep, startHarness, type Harness } from "../../support/direct-harness.js";
import { until } from "../../support/until.js";

/** The attacker's script polls this often: the scenario is a tight loop, not a wait. */
const attackerPollGapMs = 3;
/** The victim's page polls /status this often once the user has approved. */
const victimPollGapMs = 50;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Polls `path` every few ms with the planted cookie until `stop()`; returns every answer it got. */
function pollWithPlantedCookie(attacker: Client, path: string, method = "GET") {
  const answers: Array<{ status: number; body: any; setCookie: string | null }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const planted = attacker.cookie;
      const response = await attacker.request(path, { method, ...(method === "POST" ? { body: {} } : {}) });
      const text = await response.text();
      answers.push({ status: response.status, body: text ? JSON.parse(text) : undefined, setCookie: response.headers.get("set-cookie") });
      attacker.cookie = planted; // a browser the attacker does not control: it keeps replaying the planted value
      await sleep(attackerPollGapMs);
    }
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe("an attacker holding the pre-login cookie", () => {
  it("never gets the signed-in session while it polls /status through the whole login, and the victim ends signed in", async () => {
    h = await startHarness();
    const { sim } = h;
    const victim = h.newClient();
    const attacker = h.newClient();
    await victim.json("/session", { method: "POST" });
    attacker.cookie = victim.cookie; // planted
    const planted = victim.cookie;

    const polling = pollWithPlantedCookie(attacker, "/status");
    await until(() => polling.answers.length > 0, 3000, "the attacker's first poll");
    const start = await victim.json("/login/start", { method: "POST" });
    expect(start.status).toBe(200);
    expect(victim.cookie).toBeDefined();
    expect(victim.cookie).not.toBe(planted); // the login goes on under an id the attacker never saw
    sim.approve(start.body.userCode, { email: "victim@example.com" });

    let signedIn: any;
    for (let i = 0; i < 60 && signedIn === undefined; i++) {
      await sleep(victimPollGapMs);
      const status = await victim.json("/status");
      if (status.body?.ok === true) signedIn = status.body;
    }
    const pollsBeforeSignIn = polling.answers.length;
    await until(() => polling.answers.length >= pollsBeforeSignIn + 5, 3000, "five attacker polls after the sign-in");
    await polling.stop();

    expect(signedIn).toEqual({ ok: true, account: expect.objectContaining({ email: "victim@example.com" }) });
    expect(pollsBeforeSignIn).toBeGreaterThan(5);
    expect(polling.answers.length).toBeGreaterThanOrEqual(pollsBeforeSignIn + 5);
    for (const answer of polling.answers) {
      expect(answer.body?.ok).not.toBe(true);
      expect(answer.setCookie).toBeNull();
    }
    // The planted id is dead: no status, no run, no login of its own.
    attacker.cookie = planted;
    expect((await attacker.json("/status")).body.ok).toBe(false);
    expect((await attacker.run("hello")).status).not.toBe(200);
    expect((await attacker.json("/login/start", { method: "POST" })).body.userCode).toBeUndefined();
    // The victim's session works.
    const run = await victim.run("hello");
    expect(run.status).toBe(200);
    expect(run.events.at(-1)?.type).toBe("done");
  });

  it("gets 409 and no cookie when it races the victim's /login/start with the planted cookie", async () => {
    h = await startHarness();
    const victim = h.newClient();
    const attacker = h.newClient();
    await victim.json("/session", { method: "POST" });
    attacker.cookie = victim.cookie;

    const [victimStart, attackerStart] = await Promise.all([
      victim.json("/login/start", { method: "POST" }),
      attacker.json("/login/start", { method: "POST" }),
    ]);
    // Exactly one of the two holds the login; the other is told its id was renewed and gets nothing.
    const winners = [victimStart, attackerStart].filter((answer) => typeof answer.body?.userCode === "string");
    const losers = [victimStart, attackerStart].filter((answer) => answer.body?.userCode === undefined);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]!.status).toBe(409);
    expect(losers[0]!.body.code).toBe("SESSION_ROTATED");
    expect(victim.cookie === attacker.cookie).toBe(false);
  });

  it("cannot reuse the id of a login started before a Start over", async () => {
    h = await startHarness();
    const { sim } = h;
    const victim = h.newClient();
    await victim.json("/session", { method: "POST" });
    await victim.json("/login/start", { method: "POST" });
    const firstLoginCookie = victim.cookie; // say a script read it during the first attempt
    const again = await victim.json("/login/start", { method: "POST" });
    expect(victim.cookie).not.toBe(firstLoginCookie);
    sim.approve(again.body.userCode);
    h.clock.advance(1_100); // the next upstream poll is due after one interval
    expect((await victim.json("/status")).body.ok).toBe(true);

    const attacker = h.newClient();
    attacker.cookie = firstLoginCookie;
    const status = await attacker.json("/status");
    expect(status.body.ok).toBe(false);
    expect(attacker.cookie).toBe(firstLoginCookie); // no cookie was handed out
  });
});
