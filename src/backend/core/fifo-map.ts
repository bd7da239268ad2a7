/**
 * A Map that holds at most `max` entries, dropping the oldest first (a size of
 * 0 holds nothing). For the handler's small per-process caches, where recency
 * buys nothing worth a reorder per read: a dropped entry is simply made again.
 *
 * @example
 * const seen = new FifoMap<string, boolean>(256);
 * seen.set("a", true);
 * seen.get("a"); // true
 */
export class FifoMap<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = Number.isFinite(max) && max > 0 ? Math.floor(max) : 0;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    if (this.#max === 0) return;
    if (this.#map.size >= this.#max && !this.#map.has(key)) this.#map.delete(this.#map.keys().next().value as K);
    this.#map.set(key, value);
  }

  delete(key: K): void {
    this.#map.delete(key);
  }
}
