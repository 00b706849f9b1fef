/** One figure of a benchmark, as written to bench/results/latest.json. */
export interface BenchResult {
  name: string;
  value: number;
  min?: number;
  max?: number;
  rounds?: number;
  unit: string;
  samples: number;
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

/** A figure measured once per round: the median of the rounds, with their min and max. */
export function spread(perRound: number[]): { value: number; min: number; max: number; rounds: number } {
  return { value: round(median(perRound)), min: round(Math.min(...perRound)), max: round(Math.max(...perRound)), rounds: perRound.length };
}

/**
 * Runs `rounds` rounds of A then B (A B A B ...), so drift on a shared machine falls on both
 * alike; returns what each round of each measured.
 */
export async function interleave<A, B>(rounds: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  const [as, bs] = await interleaveArms<A | B>(rounds, [a, b]);
  return { a: as as A[], b: bs as B[] };
}

/** As `interleave` for any number of arms (A B C A B C ...); returns each arm's rounds, in the order given. */
export async function interleaveArms<T>(rounds: number, arms: (() => Promise<T>)[]): Promise<T[][]> {
  const results = arms.map(() => [] as T[]);
  for (let i = 0; i < rounds; i++) {
    for (const [index, arm] of arms.entries()) results[index]!.push(await arm());
  }
  return results;
}

/**
 * One figure against its baseline, each a median over rounds with min and max, and the
 * ratio of the medians (`floor` keeps a 0 ms baseline from dividing by zero).
 */
export function compared(
  name: string,
  unit: string,
  ours: number[],
  baselineName: string,
  bare: number[],
  extra: Omit<Partial<BenchResult>, 'name' | 'unit' | 'value'> & { samples: number },
  floor = 1e-9,
): BenchResult {
  const figure = spread(ours);
  const base = spread(bare);
  return {
    name,
    ...figure,
    unit,
    ...extra,
    baseline: { name: baselineName, value: base.value, min: base.min, max: base.max, unit },
    ratio: round(median(ours) / Math.max(median(bare), floor)),
  };
}
