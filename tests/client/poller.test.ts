// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AGAIN, FAIL, MAX_FAILS, poll, STOP, type ProbeResult } from "../../src/client/poller.js";

/** A probe whose answers the test scripts, recording when each call started. */
function scripted(answers: (ProbeResult | Promise<ProbeResult>)[], fallback: ProbeResult = AGAIN) {
  const calls: number[] = [];
  const probe = vi.fn(() => {
    calls.push(Date.now());
    return Promise.resolve(answers.shift() ?? fallback);
  });
  return { probe, calls };
}
const setVisibility = (v: "visible" | "hidden") => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => v });
  document.dispatchEvent(new Event("visibilitychange"));
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
  setVisibility("visible");
});

describe("status poller", () => {
  it("probes once per interval, starting after the first delay", async () => {
    const { probe, calls } = scripted([]);
    const stop = poll(probe, 3000, 3000, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(2999);
    expect(probe).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(6001);
    expect(calls).toEqual([3000, 6000, 9000]);
    stop();
  });

  it("stops for good when a probe says so", async () => {
    const { probe } = scripted([AGAIN, STOP]);
    const onEnd = vi.fn();
    poll(probe, 1000, 0, Infinity, onEnd);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probe).toHaveBeenCalledTimes(2);
    expect(onEnd).not.toHaveBeenCalled();
  });

  it("backs off exponentially on transient failures and resets after a success", async () => {
    const { probe, calls } = scripted([FAIL, FAIL, FAIL, AGAIN, AGAIN, STOP]);
    poll(probe, 1000, 0, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(60_000);
    // 0; +2s; +4s; +8s (three failures in a row); then +1s, +1s at the normal pace.
    expect(calls).toEqual([0, 2000, 6000, 14_000, 15_000, 16_000]);
  });

  it("gives up with STATUS_FAILED after MAX_FAILS failures in a row, with bounded delays", async () => {
    const { probe, calls } = scripted([], FAIL);
    const onEnd = vi.fn();
    poll(probe, 1000, 0, Infinity, onEnd);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(probe).toHaveBeenCalledTimes(MAX_FAILS);
    expect(onEnd).toHaveBeenCalledExactlyOnceWith("STATUS_FAILED");
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(16_000);
  });

  it("treats a probe that throws as a transient failure", async () => {
    const probe = vi.fn().mockRejectedValueOnce(new TypeError("Failed to fetch")).mockResolvedValue(STOP);
    poll(probe, 1000, 0, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(1999);
    expect(probe).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(probe).toHaveBeenCalledTimes(2);
  });

  it("ends with EXPIRED at the deadline, on time, without a probe after it", async () => {
    const { probe, calls } = scripted([]);
    const onEnd = vi.fn();
    poll(probe, 3000, 3000, 7000, onEnd);
    await vi.advanceTimersByTimeAsync(6999);
    expect(onEnd).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onEnd).toHaveBeenCalledExactlyOnceWith("EXPIRED");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toEqual([3000, 6000]);
  });

  it("never has two probes in flight, even when the tab is poked mid-probe", async () => {
    let release!: (r: ProbeResult) => void;
    let inFlight = 0, most = 0;
    const probe = vi.fn(async () => {
      most = Math.max(most, ++inFlight);
      const r = await new Promise<ProbeResult>((res) => (release = res));
      inFlight--;
      return r;
    });
    const stop = poll(probe, 1000, 0, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(0);
    expect(probe).toHaveBeenCalledTimes(1);
    // A slow probe: intervals pass and the tab becomes visible, yet nothing overlaps.
    setVisibility("visible");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probe).toHaveBeenCalledTimes(1);
    release(AGAIN);
    await vi.advanceTimersByTimeAsync(1000);
    expect(probe).toHaveBeenCalledTimes(2);
    expect(most).toBe(1);
    stop();
    release(AGAIN);
  });

  it("probes at once when the tab becomes visible, then keeps its pace", async () => {
    const { probe, calls } = scripted([]);
    const stop = poll(probe, 3000, 3000, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(1000);
    setVisibility("hidden");
    await vi.advanceTimersByTimeAsync(0);
    expect(probe).not.toHaveBeenCalled();
    setVisibility("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([1000]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls).toEqual([1000, 4000]);
    stop();
  });

  it("keeps polling while the tab is hidden (the user approves in another tab)", async () => {
    const { probe } = scripted([]);
    setVisibility("hidden");
    const stop = poll(probe, 1000, 1000, Infinity, vi.fn());
    await vi.advanceTimersByTimeAsync(3000);
    expect(probe).toHaveBeenCalledTimes(3);
    stop();
  });

  it("does nothing after stop: no probe, no callback, no visibility listener", async () => {
    const { probe } = scripted([]);
    const onEnd = vi.fn();
    const stop = poll(probe, 1000, 1000, 1500, onEnd);
    stop();
    setVisibility("visible");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probe).not.toHaveBeenCalled();
    expect(onEnd).not.toHaveBeenCalled();
  });

  it("ignores the answer of a probe that was in flight when stopped", async () => {
    let release!: (r: ProbeResult) => void;
    const probe = vi.fn(() => new Promise<ProbeResult>((res) => (release = res)));
    const onEnd = vi.fn();
    const stop = poll(probe, 1000, 0, Infinity, onEnd);
    await vi.advanceTimersByTimeAsync(0);
    stop();
    for (let i = 0; i < MAX_FAILS; i++) release(FAIL);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(onEnd).not.toHaveBeenCalled();
  });
});
