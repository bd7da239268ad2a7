import { createMemoryCoordination, type Coordination } from "../../sessions/coordination.js";

/** A held run lock: the run's stop signal, and the release. */
export interface RunLock {
  /** Fires when the session is signed out (here or on another instance) or the lease is lost while the run is in flight. */
  readonly signal: AbortSignal;
  /** Ends the lease; resolves once the store has dropped it (or failed to: then it lapses by itself). */
  release(): Promise<void>;
}

/** Lease timing: how long a lease lives unrenewed, and how often a live run renews it. */
export interface LeaseTiming {
  /** An instance killed mid-run frees the session this long after its last renewal. Default 3 s. */
  leaseMs: number;
  /** Also how soon a run on another instance notices a logout. Default 300 ms. */
  renewEveryMs: number;
}

const DEFAULT_TIMING: LeaseTiming = { leaseMs: 3_000, renewEveryMs: 300 };

/** The lease's hold name; the coordination stores it as SHA-256, so the handle never reaches a key. */
const leaseName = (handle: string): string => `run:${handle}`;

/**
 * One run in flight per session across every instance on the store, and a
 * way to end it: a lease with an expiry, renewed while the run streams,
 * released when it ends. Logout revokes the lease; the run's next renewal
 * finds it gone and stops the run, on whichever instance it streams (no
 * pub/sub needed). An instance killed mid-run stops renewing, so its lease
 * lapses within `leaseMs` and the next run works.
 */
export class RunLocks {
  /** Runs streaming in this process: a logout here stops them at once, without waiting for a renewal. */
  readonly #held = new Map<string, AbortController>();
  readonly #coordination: Coordination;
  readonly #timing: LeaseTiming;

  constructor(coordination: Coordination = createMemoryCoordination(), timing: Partial<LeaseTiming> = {}) {
    this.#coordination = coordination;
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  /** Takes the lease for `handle`; null when a run is already in flight (on any instance). */
  async tryAcquire(handle: string): Promise<RunLock | null> {
    if (this.#held.has(handle)) return null;
    const name = leaseName(handle);
    const { leaseMs, renewEveryMs } = this.#timing;
    const token = await this.#coordination.acquire(name, leaseMs);
    if (token === null) return null;
    const stop = new AbortController();
    this.#held.set(handle, stop);
    let released = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let renewedAt = Date.now();
    const end = (): void => {
      if (this.#held.get(handle) === stop) this.#held.delete(handle);
      stop.abort();
    };
    // A chain of timeouts, not an interval: a slow store never has two renewals in flight.
    const schedule = (): void => {
      timer = setTimeout(() => void renew(), renewEveryMs);
      timer.unref?.();
    };
    const renew = async (): Promise<void> => {
      const askedAt = Date.now();
      let kept: boolean;
      try {
        kept = await this.#coordination.renew(name, token, leaseMs);
        if (kept) renewedAt = askedAt;
      } catch {
        // The store did not answer: the lease may still stand; once it surely lapsed, another run may start.
        kept = Date.now() - renewedAt < leaseMs;
      }
      if (released) return;
      if (!kept) return end(); // revoked by a logout, or lapsed
      schedule();
    };
    schedule();
    return {
      signal: stop.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        if (this.#held.get(handle) === stop) this.#held.delete(handle);
        await this.#coordination.release(name, token).catch(() => undefined); // if this fails, the lease lapses by itself
      },
    };
  }

  /** Stops the run in flight for `handle` here at once, and revokes its lease so a run on another instance stops too. */
  async stop(handle: string): Promise<void> {
    const stop = this.#held.get(handle);
    if (stop !== undefined) {
      this.#held.delete(handle);
      stop.abort();
    }
    await this.#coordination.revoke(leaseName(handle));
  }
}
