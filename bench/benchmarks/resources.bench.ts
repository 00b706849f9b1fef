import { Redis } from 'ioredis';
import { forkBenchChild } from '../bench-children.js';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses } from '../bench-platform.js';
import { compared, interleave, percentile, type Benchmark } from '../measure.js';

/** Environments in the contended pool. */
const POOL_SIZE = 20;
/** Callers competing for them at once: more than the pool holds, so many attempts find none free. */
const CALLERS = 64;
const ATTEMPTS_PER_ROUND = 3000;
const WARMUP_ATTEMPTS = 1000;
const ROUNDS = 3;

interface Outcome {
  rate: number;
  latencies: number[];
}

/**
 * Leasing under contention (64 callers, a pool of 20, allocate then release) over HTTP
 * against the built API process, beside a bare Lua LPOP/RPUSH of free ids on the same
 * Redis, both driven from one load-generator process of their own, A B A B.
 */
export const resourcesBenchmark: Benchmark = {
  name: 'resources',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment);
    const load = await forkBenchChild('load-generator.process.js');
    const redis = new Redis(environment.redisUrl);
    const bareKey = `${platform.settings.REDIS_PREFIX}:bench-bare-free`;
    try {
      const org = await platform.createOrg('bench-resources');
      await platform.call('POST', '/v1/pools', { name: 'bench', kind: 'sandbox' }, org.token);
      for (let i = 0; i < POOL_SIZE; i++) await platform.call('POST', '/v1/pools/bench/environments', { name: `env-${i}` }, org.token);
      await redis.rpush(bareKey, ...Array.from({ length: POOL_SIZE }, (_, i) => `env-${i}`));
      const viaHttp = (count: number) => () =>
        load.request<Outcome>({
          kind: 'lease-http',
          baseUrl: platform.baseUrl,
          token: org.token,
          pool: 'bench',
          count,
          concurrency: CALLERS,
        });
      const bareLua = (count: number) => () =>
        load.request<Outcome>({ kind: 'lease-lua', redisUrl: environment.redisUrl, key: bareKey, count, concurrency: CALLERS });
      await viaHttp(WARMUP_ATTEMPTS)();
      await bareLua(WARMUP_ATTEMPTS)();
      const rounds = await interleave(ROUNDS, viaHttp(ATTEMPTS_PER_ROUND), bareLua(ATTEMPTS_PER_ROUND));
      const context = { samples: ROUNDS * ATTEMPTS_PER_ROUND, callers: CALLERS, poolSize: POOL_SIZE };
      return [
        compared(
          'resources.http.allocations',
          'allocations/s',
          rounds.a.map((r) => r.rate),
          'redis.lua_lpop',
          rounds.b.map((r) => r.rate),
          context,
        ),
        compared(
          'resources.http.p99_latency',
          'ms',
          rounds.a.map((r) => percentile(r.latencies, 0.99)),
          'redis.lua_lpop',
          rounds.b.map((r) => percentile(r.latencies, 0.99)),
          context,
        ),
      ];
    } finally {
      await redis.del(bareKey);
      redis.disconnect();
      await load.stop();
      await platform.stop();
    }
  },
};
