import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses } from '../bench-platform.js';
import { compared, percentile, type Benchmark } from '../measure.js';

const WARMUP_ORGS = 2;
const ROUNDS = 3;
const ORGS_PER_ROUND = 10;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * Time from POST /v1/admin/orgs to READY on the built API and worker, p50 and p99 over
 * 30 orgs in 3 rounds, each org followed by a bare CREATE DATABASE on the same server.
 */
export const orgProvisioningBenchmark: Benchmark = {
  name: 'orgs',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment);
    const createDatabaseOnce = async (name: string) => {
      const elapsed = await timed(() => platform.sql('postgres', `CREATE DATABASE ${name}`));
      await platform.sql('postgres', `DROP DATABASE ${name}`);
      return elapsed;
    };
    try {
      for (let i = 0; i < WARMUP_ORGS; i++) await platform.createOrg(`warm-${i}`);
      const provisioning: number[][] = [];
      const baseline: number[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        provisioning.push([]);
        baseline.push([]);
        for (let i = 0; i < ORGS_PER_ROUND; i++) {
          provisioning[round]!.push(await timed(() => platform.createOrg(`sample-${round}-${i}`)));
          baseline[round]!.push(await createDatabaseOnce(`bench_raw_${round}_${i}`));
        }
      }
      const p = (rounds: number[][], fraction: number) => rounds.map((values) => percentile(values, fraction));
      const all = provisioning.flat();
      const context = { samples: all.length, overAllSamples: { p50: percentile(all, 0.5), p99: percentile(all, 0.99) } };
      return [
        compared('orgs.create_to_ready.p50', 'ms', p(provisioning, 0.5), 'postgres.create_database.p50', p(baseline, 0.5), context),
        compared('orgs.create_to_ready.p99', 'ms', p(provisioning, 0.99), 'postgres.create_database.p99', p(baseline, 0.99), context),
      ];
    } finally {
      await platform.stop();
    }
  },
};
