/**
 * The one suite every `Coordination` passes (memory, Redis): holds are
 * exclusive, owned by their token, revocable by anyone, and lapse by themselves.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Coordination } from "../../src/backend/sessions/coordination.js";
import { until } from "./until.js";

export interface CoordinationUnderTest {
  coordination: Coordination;
  /** Everything the backing store holds, as text, as someone reading it directly would see it (a shared store). */
  dump?: () => Promise<string>;
}

const newName = (): string => `run:${randomBytes(12).toString("base64url")}`;

/**
 * @example
 * describeCoordination("memory", async () => ({ coordination: createMemoryCoordination() }));
 */
export function describeCoordination(name: string, make: () => Promise<CoordinationUnderTest>, dumps = false): void {
  describe(`${name} (Coordination conformance)`, () => {
    it("gives a free name to the first taker and refuses the next one", async () => {
      const { coordination } = await make();
      const name = newName();
      const token = await coordination.acquire(name, 10_000);
      expect(typeof token).toBe("string");
      expect(await coordination.acquire(name, 10_000)).toBeNull();
      expect(await coordination.acquire(newName(), 10_000)).not.toBeNull(); // names are independent
    });

    it("lets exactly one of 20 concurrent takers win", async () => {
      const { coordination } = await make();
      const name = newName();
      const results = await Promise.all(Array.from({ length: 20 }, () => coordination.acquire(name, 10_000)));
      expect(results.filter((token) => token !== null)).toHaveLength(1);
    });

    it("renews and releases only for the owner's token", async () => {
      const { coordination } = await make();
      const name = newName();
      const token = (await coordination.acquire(name, 10_000)) as string;
      expect(await coordination.renew(name, "not-the-owner", 10_000)).toBe(false);
      await coordination.release(name, "not-the-owner");
      expect(await coordination.acquire(name, 10_000)).toBeNull();
      expect(await coordination.renew(name, token, 10_000)).toBe(true);
      await coordination.release(name, token);
      expect(await coordination.renew(name, token, 10_000)).toBe(false);
      expect(await coordination.acquire(name, 10_000)).not.toBeNull();
    });

    it("lets anyone revoke a hold (logout), after which its owner can no longer renew it", async () => {
      const { coordination } = await make();
      const name = newName();
      const token = (await coordination.acquire(name, 10_000)) as string;
      await coordination.revoke(name);
      expect(await coordination.renew(name, token, 10_000)).toBe(false);
      const next = await coordination.acquire(name, 10_000);
      expect(next).not.toBeNull();
      await coordination.release(name, token); // the old owner's late release leaves the new hold alone
      expect(await coordination.acquire(name, 10_000)).toBeNull();
    });

    it("lets a hold nobody renews lapse by itself (its holder died), while a renewed one lives on", async () => {
      const { coordination } = await make();
      const [abandoned, kept] = [newName(), newName()];
      const keptToken = (await coordination.acquire(kept, 400)) as string;
      expect(await coordination.acquire(abandoned, 200)).not.toBeNull();
      const startedAt = Date.now();
      let free: string | null = null;
      while (free === null) {
        expect(await coordination.renew(kept, keptToken, 400)).toBe(true);
        free = await coordination.acquire(abandoned, 200);
        expect(Date.now() - startedAt).toBeLessThan(3_000);
        await new Promise((resolve) => setTimeout(resolve, 20)); // the renewal pace of a live holder
      }
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150); // it lapsed; nobody freed it early
      expect(await coordination.acquire(kept, 400)).toBeNull();
    });

    it.runIf(dumps)("keeps the names out of what it stores (they can carry a session handle or a token's hash)", async () => {
      const subject = await make();
      const name = `refresh:${randomBytes(16).toString("hex")}`;
      await subject.coordination.acquire(name, 10_000);
      const raw = await subject.dump!();
      expect(raw).toContain("hold:"); // the dump does see the hold
      expect(raw).not.toContain(name);
      expect(raw).not.toContain(name.slice("refresh:".length));
    });
  });
}
