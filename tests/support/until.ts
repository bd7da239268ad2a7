/**
 * Waiting for a thing to happen instead of sleeping for a guessed time: a
 * fixed sleep is too short on a loaded machine and too long everywhere else.
 */

/** Waits until `check()` is true, polling every few ms; throws after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets every callback already queued on the event loop (timers due now, I/O, microtasks) run once. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits until the async `check()` resolves true, asking again every `everyMs`; throws after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 3000, what = "condition", everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
