import { startTestRedisCluster } from '#libs/testing';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses, type BenchPlatformProcesses } from '../bench-platform.js';
import { median, round, throughput, type Benchmark } from '../measure.js';

const CONCURRENCY = 16;
/** Orgs the tasks are spread over: on a cluster their keys land on different primaries. */
const ORGS = 6;
const WARMUP_TASKS = 300;
const TASKS_PER_ROUND = 1200;
const ROUNDS = 3;
const POLL_MS = 20;

type Org = { token: string; database: string };

/** Tasks created over HTTP round-robin over `orgs`, until every one's history row is in its org database. */
async function endToEnd(platform: BenchPlatformProcesses, orgs: Org[], count: number): Promise<number> {
  const rows = async () => {
    let total = 0;
    for (const org of orgs) {
      const [{ n }] = await platform.sql<{ n: string }>(org.database, `SELECT count(*) AS n FROM tasks WHERE type = 'noop'`);
      total += Number(n);
    }
    return total;
  };
  const before = await rows();
  let next = 0;
  const started = performance.now();
  await throughput(count, CONCURRENCY, () => platform.call('POST', '/v1/tasks', { type: 'noop' }, orgs[next++ % orgs.length]!.token));
  while ((await rows()) - before < count) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  return count / ((performance.now() - started) / 1000);
}

/**
 * The same platform (built API and worker processes) on one standalone Redis and on a local
 * 3-primary Redis Cluster (with a replica each), measured interleaved A B A B: end-to-end
 * tasks/s over several orgs. The ratio says what the cluster's routing costs or gains on
 * this machine; on one small machine all primaries share the same cores.
 */
export const redisClusterBenchmark: Benchmark = {
  name: 'redis-cluster',
  async run(environment: BenchEnvironment) {
    const cluster = await startTestRedisCluster(3);
    const settings = { TASK_CONCURRENCY: String(CONCURRENCY) };
    const standalone = await startBenchPlatformProcesses(environment, settings);
    const clustered = await startBenchPlatformProcesses(environment, { ...settings, ...cluster.env });
    try {
      const orgsOf = async (platform: BenchPlatformProcesses, name: string) => {
        const orgs: Org[] = [];
        for (let i = 0; i < ORGS; i++) orgs.push(await platform.createOrg(`bench-${name}-${i}`));
        return orgs;
      };
      const standaloneOrgs = await orgsOf(standalone, 'standalone');
      const clusterOrgs = await orgsOf(clustered, 'cluster');
      await endToEnd(standalone, standaloneOrgs, WARMUP_TASKS);
      await endToEnd(clustered, clusterOrgs, WARMUP_TASKS);
      const onCluster: number[] = [];
      const onStandalone: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        onStandalone.push(await endToEnd(standalone, standaloneOrgs, TASKS_PER_ROUND));
        onCluster.push(await endToEnd(clustered, clusterOrgs, TASKS_PER_ROUND));
      }
      const value = median(onCluster);
      const baseline = median(onStandalone);
      return [
        {
          name: 'tasks.e2e.redis_cluster_3_primaries',
          value: round(value),
          min: round(Math.min(...onCluster)),
          max: round(Math.max(...onCluster)),
          rounds: ROUNDS,
          unit: 'tasks/s',
          samples: ROUNDS * TASKS_PER_ROUND,
          concurrency: CONCURRENCY,
          orgs: ORGS,
          baseline: {
            name: 'tasks.e2e.redis_standalone',
            value: round(baseline),
            min: round(Math.min(...onStandalone)),
            max: round(Math.max(...onStandalone)),
            unit: 'tasks/s',
          },
          ratio: round(value / baseline),
        },
      ];
    } finally {
      await clustered.stop();
      await standalone.stop();
      await cluster.stop();
    }
  },
};
