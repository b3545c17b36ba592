/** Medians and spreads over rounds: timings on a shared machine move, so a figure is a median with its range. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  readonly min: number;
  readonly max: number;
  /** How many measurements the median and range are over. */
  readonly rounds: number;
}

export function spreadOf(values: readonly number[]): Spread {
  return { min: Math.min(...values), max: Math.max(...values), rounds: values.length };
}

/** Per-round ratios of two rates measured in the same rounds. */
export function roundRatios(own: readonly number[], reference: readonly number[]): number[] {
  return own.map((value, round) => value / reference[round]!);
}

/** Milliseconds a promise-returning task took. */
export async function timedMillis(task: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await task();
  return performance.now() - start;
}

/** The order of `names` for a round: rotated, so that no method always runs first or last. */
function rotated<T>(names: readonly T[], round: number): T[] {
  return names.map((_, i) => names[(i + round) % names.length]!);
}

/**
 * Rows/s of each method over `rounds` rounds, the methods in a rotating order
 * within each; `methods` return the milliseconds `rowCount` rows took.
 */
export async function ratesOverRounds<M extends string>(
  names: readonly M[],
  methods: Record<M, () => Promise<number>>,
  rowCount: number,
  rounds: number,
  report: (round: number, line: string) => void,
): Promise<Map<M, number[]>> {
  const rates = new Map<M, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    for (const method of rotated(names, round)) {
      const rate = (rowCount / (await methods[method]())) * 1000;
      rates.get(method)!.push(rate);
      line.push(`${method} ${Math.round(rate)}`);
    }
    report(round, line.join(', '));
  }
  return rates;
}

/** Microseconds of this process's CPU (all its threads) since `since` (a process.cpuUsage() reading). */
export function cpuMicrosSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}
