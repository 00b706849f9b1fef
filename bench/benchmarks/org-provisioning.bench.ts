import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform } from '../bench-platform.js';
import { median, percentile, round, type Benchmark } from '../measure.js';

const WARMUP_ORGS = 2;
const SAMPLES = 15;

/** Median time from POST /v1/admin/orgs to READY, beside a bare CREATE DATABASE on the same server. */
export const orgProvisioningBenchmark: Benchmark = {
  name: 'orgs',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment);
    const timed = async (work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      return performance.now() - started;
    };
    const createDatabaseOnce = async (name: string) => {
      const elapsed = await timed(() => platform.sql('postgres', `CREATE DATABASE ${name}`));
      await platform.sql('postgres', `DROP DATABASE ${name}`);
      return elapsed;
    };
    try {
      for (let i = 0; i < WARMUP_ORGS; i++) await platform.createOrg(`warm-${i}`);
      const provisioning: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        provisioning.push(await timed(() => platform.createOrg(`sample-${i}`)));
        baseline.push(await createDatabaseOnce(`bench_raw_${i}`));
      }
      const value = median(provisioning);
      const baselineValue = median(baseline);
      return [
        {
          name: 'orgs.create_to_ready.median',
          value: round(value),
          unit: 'ms',
          samples: SAMPLES,
          p99: round(percentile(provisioning, 0.99)),
          baseline: { name: 'postgres.create_database', value: round(baselineValue), unit: 'ms' },
          ratio: round(value / baselineValue),
        },
      ];
    } finally {
      await platform.stop();
    }
  },
};
