/** The probe is finished: stop polling. */
export const STOP = 0;
/** Not yet: probe again after the interval. */
export const AGAIN = 1;
/** A transient failure: probe again after a longer wait. */
export const FAIL = 2;
/** What one probe concluded. */
export type ProbeResult = typeof STOP | typeof AGAIN | typeof FAIL;

/** Transient failures in a row before giving up. */
export const MAX_FAILS = 5;

/**
 * Probes every `intervalMs`, one probe in flight at a time, with bounded
 * exponential backoff on transient failures (at most 16 × `intervalMs`) and an
 * immediate probe when the tab becomes visible again. Ends with
 * `onEnd("EXPIRED")` once `deadline` (epoch ms) is reached, or
 * `onEnd("STATUS_FAILED")` after `MAX_FAILS` failures in a row. A probe that
 * throws counts as a failure. Returns the function that stops polling.
 * @example const stop = poll(probe, 3000, 3000, expiresAt, (code) => fail(code));
 */
export function poll(
  probe: () => Promise<ProbeResult>,
  intervalMs: number,
  firstDelayMs: number,
  deadline: number,
  onEnd: (code: "EXPIRED" | "STATUS_FAILED") => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let probing = false;
  let stopped = false;
  let failuresInARow = 0;
  // Date.now, which tests fake with their timers.
  const now = Date.now;
  // Absent during server-side rendering.
  const doc = globalThis.document;

  function stop(): void {
    stopped = true;
    clearTimeout(timer);
    doc?.removeEventListener("visibilitychange", onVisibilityChange);
  }

  function wait(delayMs: number): void {
    clearTimeout(timer);
    // Wake at the deadline at the latest, so expiry is reported on time.
    timer = setTimeout(tick, Math.min(delayMs, deadline - now()));
  }

  async function tick(): Promise<void> {
    if (stopped || probing) return;
    if (now() >= deadline) {
      stop();
      onEnd("EXPIRED");
      return;
    }
    probing = true;
    const result = await probe().catch(() => FAIL);
    probing = false;
    if (stopped) return;
    if (result === STOP) {
      stop();
      return;
    }
    failuresInARow = result === FAIL ? failuresInARow + 1 : 0;
    if (failuresInARow >= MAX_FAILS) {
      stop();
      onEnd("STATUS_FAILED");
      return;
    }
    // Bounded: at most MAX_FAILS - 1 doublings.
    wait(intervalMs * 2 ** failuresInARow);
  }

  function onVisibilityChange(): void {
    if (doc!.visibilityState === "visible") void tick();
  }

  doc?.addEventListener("visibilitychange", onVisibilityChange);
  wait(firstDelayMs);
  return stop;
}
