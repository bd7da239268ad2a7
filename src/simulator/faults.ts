import type { FaultName, FaultOptions, SimulatorEndpoint } from "./types.js";

interface ActiveFault<N extends FaultName = FaultName> {
  name: N;
  options: FaultOptions[N];
  remaining: number;
}

/** Faults that target one endpoint through `options.endpoint` (every endpoint when absent). */
const ENDPOINT_FAULTS = new Set<FaultName>(["server-error", "hang", "cloudflare-challenge", "tampered-answer"]);

/** Active faults, each firing `times` times (or until cleared). */
export class FaultRegistry {
  private active: ActiveFault[] = [];

  add<N extends FaultName>(name: N, options: FaultOptions[N] | undefined): void {
    const opts = (options ?? {}) as FaultOptions[N];
    const times = opts.times ?? Number.POSITIVE_INFINITY;
    if (!(times > 0)) return;
    // A newer injection of the same fault replaces the older one.
    this.active = this.active.filter((fault) => fault.name !== name);
    this.active.push({ name, options: opts, remaining: times });
  }

  clear(): void {
    this.active = [];
  }

  /** Is `name` active for `endpoint`? Does not consume it. */
  peek<N extends FaultName>(name: N, endpoint?: SimulatorEndpoint): FaultOptions[N] | undefined {
    return this.find(name, endpoint)?.options;
  }

  /** If `name` is active for `endpoint`, consume one firing and return its options. */
  take<N extends FaultName>(name: N, endpoint?: SimulatorEndpoint): FaultOptions[N] | undefined {
    const fault = this.find(name, endpoint);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.active = this.active.filter((f) => f !== fault);
    return fault.options;
  }

  private find<N extends FaultName>(name: N, endpoint?: SimulatorEndpoint): ActiveFault<N> | undefined {
    const fault = this.active.find((f): f is ActiveFault<N> => f.name === name);
    if (!fault) return undefined;
    if (ENDPOINT_FAULTS.has(name)) {
      const target = (fault.options as { endpoint?: SimulatorEndpoint }).endpoint;
      if (target !== undefined && target !== endpoint) return undefined;
    }
    return fault;
  }
}
