/** A held run lock: the run's stop signal, and the release. */
export interface RunLock {
  /** Fires when the session is signed out while the run is in flight. */
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * One run in flight per session, in this process, and a way to end it:
 * logout stops the session's run. Check-and-take happens in a single
 * synchronous step, so concurrent requests cannot both win. With more than
 * one process, route a session to one instance (sticky sessions).
 */
export class RunLocks {
  readonly #held = new Map<string, AbortController>();

  /** Takes the lock for `handle`; null when a run is already in flight. */
  tryAcquire(handle: string): RunLock | null {
    if (this.#held.has(handle)) return null;
    const stop = new AbortController();
    this.#held.set(handle, stop);
    return {
      signal: stop.signal,
      release: () => {
        if (this.#held.get(handle) === stop) this.#held.delete(handle);
      },
    };
  }

  /** Stops the run in flight for `handle`, if any; its stream ends and its lock is released. */
  stop(handle: string): void {
    const stop = this.#held.get(handle);
    if (stop === undefined) return;
    this.#held.delete(handle);
    stop.abort();
  }
}
