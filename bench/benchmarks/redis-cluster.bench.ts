import { startTestRedisCluster } from '#libs/testing';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses, type BenchPlatformProcesses } from '../bench-platform.js';
import { compared, percentile, throughput, type Benchmark } from '../measure.js';
import { Crowd } from '../socket-crowd.js';

const CONCURRENCY = 16;
/** Orgs the tasks are spread over: on a cluster their keys land on different primaries. */
const ORGS = 6;
const WARMUP_TASKS = 300;
const TASKS_PER_ROUND = 1200;
const ROUNDS = 3;
const POLL_MS = 20;
/** Sockets subscribed to each org's `tasks` topic, in a client process of their own per org. */
const SOCKETS_PER_ORG = 40;
/** Tasks created per fan-out round, round-robin over the orgs. */
const FANOUT_TASKS = 60;

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

/** Each org's crowd of sockets, subscribed to its `tasks` topic. */
async function crowdsOf(platform: BenchPlatformProcesses, orgs: Org[]): Promise<Crowd[]> {
  const crowds: Crowd[] = [];
  try {
    for (const org of orgs)
      crowds.push(await Crowd.connect(`${platform.baseUrl}/realtime`, org.token, SOCKETS_PER_ORG, [{ topic: 'tasks' }]));
  } catch (error) {
    await Promise.all(crowds.map((crowd) => crowd.close()));
    throw error;
  }
  return crowds;
}

/** One fan-out round: the p99 of every task event's latency, deliveries per second, and how many were timed. */
interface FanOutRound {
  p99: number;
  perSecond: number;
  samples: number;
}

/**
 * FANOUT_TASKS tasks created over HTTP round-robin over the orgs, until every socket of each
 * org saw each of its tasks succeed: every task event's latency (its time → receipt) and the
 * deliveries per second to all sockets.
 */
async function fanOut(platform: BenchPlatformProcesses, orgs: Org[], crowds: Crowd[]): Promise<FanOutRound> {
  await Promise.all(crowds.map((crowd) => crowd.reset()));
  let next = 0;
  await throughput(FANOUT_TASKS, CONCURRENCY, () =>
    platform.call('POST', '/v1/tasks', { type: 'noop' }, orgs[next++ % orgs.length]!.token),
  );
  await Promise.all(
    crowds.map((crowd, index) => {
      const tasks = Math.floor(FANOUT_TASKS / orgs.length) + (index < FANOUT_TASKS % orgs.length ? 1 : 0);
      return crowd.waitFor('task events', (counts) => counts.successes >= tasks * crowd.sockets);
    }),
  );
  const collected = await Promise.all(crowds.map((crowd) => crowd.collect()));
  const latencies = collected.flatMap((c) => c.latencies.event);
  const received = collected.reduce((sum, c) => sum + c.received, 0);
  const first = Math.min(...collected.map((c) => c.first).filter((at) => at > 0));
  const last = Math.max(...collected.map((c) => c.last));
  return { p99: percentile(latencies, 0.99), perSecond: received / Math.max(0.001, (last - first) / 1000), samples: latencies.length };
}

/**
 * The same platform (built API and worker processes) on one standalone Redis and on a local
 * 3-primary Redis Cluster (with a replica each), measured interleaved A B A B: end-to-end
 * tasks/s over several orgs, and the fan-out of their task events to SOCKETS_PER_ORG sockets
 * per org (client processes of their own): p99 latency and deliveries per second. The ratio says what the cluster's routing costs or gains on
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
      const crowds: Record<'standalone' | 'cluster', Crowd[]> = { standalone: [], cluster: [] };
      const fanOuts: Record<'standalone' | 'cluster', FanOutRound[]> = { standalone: [], cluster: [] };
      try {
        crowds.standalone = await crowdsOf(standalone, standaloneOrgs);
        crowds.cluster = await crowdsOf(clustered, clusterOrgs);
        await fanOut(standalone, standaloneOrgs, crowds.standalone);
        await fanOut(clustered, clusterOrgs, crowds.cluster);
        for (let round = 0; round < ROUNDS; round++) {
          fanOuts.standalone.push(await fanOut(standalone, standaloneOrgs, crowds.standalone));
          fanOuts.cluster.push(await fanOut(clustered, clusterOrgs, crowds.cluster));
        }
      } finally {
        await Promise.all([...crowds.standalone, ...crowds.cluster].map((crowd) => crowd.close()));
      }
      const fanOutContext = {
        samples: fanOuts.cluster.reduce((sum, r) => sum + r.samples, 0),
        rounds: ROUNDS,
        orgs: ORGS,
        subscribers: ORGS * SOCKETS_PER_ORG,
      };
      return [
        compared('tasks.e2e.redis_cluster_3_primaries', 'tasks/s', onCluster, 'tasks.e2e.redis_standalone', onStandalone, {
          rounds: ROUNDS,
          samples: ROUNDS * TASKS_PER_ROUND,
          concurrency: CONCURRENCY,
          orgs: ORGS,
        }),
        compared(
          'realtime.fanout.p99.redis_cluster_3_primaries',
          'ms',
          fanOuts.cluster.map((r) => r.p99),
          'realtime.fanout.p99.redis_standalone',
          fanOuts.standalone.map((r) => r.p99),
          fanOutContext,
          1,
        ),
        compared(
          'realtime.fanout.deliveries.redis_cluster_3_primaries',
          'deliveries/s',
          fanOuts.cluster.map((r) => r.perSecond),
          'realtime.fanout.deliveries.redis_standalone',
          fanOuts.standalone.map((r) => r.perSecond),
          fanOutContext,
        ),
      ];
    } finally {
      await clustered.stop();
      await standalone.stop();
      await cluster.stop();
    }
  },
};
