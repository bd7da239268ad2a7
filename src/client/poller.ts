/** What one probe concluded: finished, ask again later, or a transient failure. */
export const STOP = 0, AGAIN = 1, FAIL = 2;
/** Transient failures in a row before giving up. */
export const MAX_FAILS = 5;
export type ProbeResult = typeof STOP | typeof AGAIN | typeof FAIL;

/**
 * Probes every `ms`, one probe in flight at a time, with bounded exponential
 * backoff on transient failures (at most 16×`ms`) and an immediate probe when the
 * tab becomes visible again. Ends with `onEnd("EXPIRED")` once `deadline`
 * (epoch ms) is reached, or `onEnd("STATUS_FAILED")` after `MAX_FAILS`
 * failures in a row. Positional parameters keep the browser bundle small.
 * @example const stop = poll(probe, 3000, 3000, expiresAt, (code) => fail(code));
 */
export function poll(
  probe: () => Promise<ProbeResult>,
  ms: number,
  firstMs: number,
  deadline: number,
  onEnd: (code: "EXPIRED" | "STATUS_FAILED") => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false, done = false, fails = 0;
  const now = Date.now; // faked by the test timers
  const doc = globalThis.document; // absent during SSR
  const stop = () => {
    done = true;
    clearTimeout(timer);
    doc?.removeEventListener("visibilitychange", poke);
  };
  const wait = (d: number) => {
    clearTimeout(timer);
    // Wake at the deadline at the latest, so expiry is reported on time.
    timer = setTimeout(tick, Math.min(d, deadline - now()));
  };
  async function tick() {
    if (done || busy) return;
    if (now() >= deadline) return stop(), onEnd("EXPIRED");
    busy = true;
    const r = await probe().catch(() => FAIL);
    busy = false;
    if (done) return;
    if (r == STOP) return stop();
    fails = r == FAIL ? fails + 1 : 0;
    if (fails >= MAX_FAILS) return stop(), onEnd("STATUS_FAILED");
    // Bounded: at most MAX_FAILS - 1 doublings.
    wait(ms * 2 ** fails);
  }
  function poke() {
    if (doc!.visibilityState == "visible") tick();
  }
  doc?.addEventListener("visibilitychange", poke);
  wait(firstMs);
  return stop;
}
