/**
 * Interleaved rounds and their ratios, shared by bench/server.bench.ts and
 * bench/redis.bench.ts: the routes compared are measured turn by turn and each
 * ratio is the median of the per-round ratios, so load from other processes
 * on the machine hits both sides alike.
 */
import { median } from "./table.js";

/** A target's figures, one value per round: req/s, and the server's CPU µs per request. */
export interface Rounds {
  rate: number[];
  cpu: number[];
}

/**
 * Measures each target once for 1 s (warm-up, not kept), then `rounds` times
 * for `seconds` each, target after target; returns each target's figures per round.
 */
export async function measureInRounds<Target, Figure extends string>(
  targets: Target[],
  hit: (target: Target, seconds: number) => Promise<Record<Figure, number>>,
  options: { rounds: number; seconds: number },
): Promise<Array<Record<Figure, number[]>>> {
  for (const target of targets) await hit(target, 1);
  const out = targets.map(() => ({}) as Record<Figure, number[]>);
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const figures = await hit(target, options.seconds);
      const kept = out[i] as Record<Figure, number[]>;
      for (const figure of Object.keys(figures) as Figure[]) (kept[figure] ??= []).push(figures[figure]);
    }
  }
  return out;
}

/**
 * The six comparison cells of a table row: median req/s of ours and of the
 * base, their ratio, median CPU µs per request of each, and the CPU-capacity
 * ratio (base CPU ÷ ours), which a loaded machine disturbs far less than req/s.
 * Each ratio is marked met or MISSED against `min` (no mark when `min` is 0).
 */
export function ratioCells(ours: Rounds | undefined, base: Rounds | undefined, min: number): string[] {
  const r = ours ?? { rate: [], cpu: [] };
  const b = base ?? { rate: [], cpu: [] };
  const rateRatio = median(r.rate.map((x, i) => x / (b.rate[i] ?? NaN)));
  const cpuRatio = median(r.cpu.map((x, i) => (b.cpu[i] ?? NaN) / x));
  const verdict = (x: number) => (min === 0 ? "" : x >= min ? "met" : "MISSED");
  return [
    median(r.rate).toFixed(0),
    median(b.rate).toFixed(0),
    `${rateRatio.toFixed(2)}× ${verdict(rateRatio)}`,
    median(r.cpu).toFixed(0),
    median(b.cpu).toFixed(0),
    `${cpuRatio.toFixed(2)}× ${verdict(cpuRatio)}`,
  ];
}
