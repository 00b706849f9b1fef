/** One figure of a benchmark, as written to bench/results/latest.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  samples: number;
  min?: number;
  max?: number;
  rounds?: number;
  baseline?: { name: string; value: number; unit: string; min?: number; max?: number };
  ratio?: number;
  [extra: string]: unknown;
}

export interface Benchmark {
  name: string;
  run(environment: import('./bench-environment.js').BenchEnvironment): Promise<BenchResult[]>;
}

/** Median of `values` (which must not be empty). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value below which `fraction` (0..1) of `values` fall. */
export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Runs `count` calls of `call` with at most `concurrency` in flight; returns operations per second. */
export async function throughput(count: number, concurrency: number, call: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        await call();
      }
    }),
  );
  return count / ((performance.now() - begin) / 1000);
}

/** Rounds to 3 significant digits for printing and JSON. */
export function round(value: number): number {
  return Number(value.toPrecision(3));
}
