/**
 * A clock that follows real time but can jump ahead: handed as `now` to the
 * simulator and the directRunner, it lets a test pass a poll interval or a
 * token's lifetime without sleeping through it.
 */
export interface SkewClock {
  now: () => number;
  /** Moves this clock (and everything reading it) `ms` into the future. */
  advance(ms: number): void;
}

export function skewClock(): SkewClock {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance: (ms) => {
      offsetMs += ms;
    },
  };
}
