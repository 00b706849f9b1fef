import { Redis } from 'ioredis';
import { findFreePort } from '#libs/runtime';
import { forkBenchChild } from '../bench-children.js';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses } from '../bench-platform.js';
import { compared, interleaveArms, percentile, type Benchmark } from '../measure.js';

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
 * Redis, and beside a bare node:http server doing only that Lua (in a process of its own),
 * all driven from one load-generator process of their own, A B C A B C.
 *
 * The third arm is the ceiling of any HTTP front on this machine: an environment is held
 * until its release has crossed HTTP, so allocations/s is bound by the pool size over an
 * HTTP round trip under 64 callers, not by the allocation itself.
 */
export const resourcesBenchmark: Benchmark = {
  name: 'resources',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment);
    const load = await forkBenchChild('load-generator.process.js');
    const redis = new Redis(environment.redisUrl);
    const bareKey = `${platform.settings.REDIS_PREFIX}:bench-bare-free`;
    const barePort = await findFreePort();
    const bareHttp = await forkBenchChild('bare-lease-http.process.js', [String(barePort), environment.redisUrl, bareKey]);
    try {
      const org = await platform.createOrg('bench-resources');
      await platform.call('POST', '/v1/pools', { name: 'bench', kind: 'sandbox' }, org.token);
      for (let i = 0; i < POOL_SIZE; i++) await platform.call('POST', '/v1/pools/bench/environments', { name: `env-${i}` }, org.token);
      await redis.rpush(bareKey, ...Array.from({ length: POOL_SIZE }, (_, i) => `env-${i}`));
      const viaHttp = (baseUrl: string, count: number) => () =>
        load.request<Outcome>({ kind: 'lease-http', baseUrl, token: org.token, pool: 'bench', count, concurrency: CALLERS });
      const bareLua = (count: number) => () =>
        load.request<Outcome>({ kind: 'lease-lua', redisUrl: environment.redisUrl, key: bareKey, count, concurrency: CALLERS });
      const bareHttpUrl = `http://127.0.0.1:${barePort}`;
      await viaHttp(platform.baseUrl, WARMUP_ATTEMPTS)();
      await bareLua(WARMUP_ATTEMPTS)();
      await viaHttp(bareHttpUrl, WARMUP_ATTEMPTS)();
      const [api, lua, bareFront] = await interleaveArms(ROUNDS, [
        viaHttp(platform.baseUrl, ATTEMPTS_PER_ROUND),
        bareLua(ATTEMPTS_PER_ROUND),
        viaHttp(bareHttpUrl, ATTEMPTS_PER_ROUND),
      ]);
      const context = { samples: ROUNDS * ATTEMPTS_PER_ROUND, callers: CALLERS, poolSize: POOL_SIZE };
      const rates = (rounds: Outcome[]) => rounds.map((r) => r.rate);
      const p99s = (rounds: Outcome[]) => rounds.map((r) => percentile(r.latencies, 0.99));
      return [
        compared('resources.http.allocations', 'allocations/s', rates(api!), 'redis.lua_lpop', rates(lua!), context),
        compared('resources.http.p99_latency', 'ms', p99s(api!), 'redis.lua_lpop', p99s(lua!), context),
        compared('resources.bare_http_lua.allocations', 'allocations/s', rates(bareFront!), 'redis.lua_lpop', rates(lua!), context),
        compared('resources.bare_http_lua.p99_latency', 'ms', p99s(bareFront!), 'redis.lua_lpop', p99s(lua!), context),
        compared('resources.http.allocations.vs_bare_http', 'allocations/s', rates(api!), 'bare_http_lua', rates(bareFront!), context),
        compared('resources.http.p99_latency.vs_bare_http', 'ms', p99s(api!), 'bare_http_lua', p99s(bareFront!), context),
      ];
    } finally {
      // The bare list lives under the platform's prefix, dropped with the platform.
      redis.disconnect();
      await load.stop();
      await bareHttp.stop();
      await platform.stop();
    }
  },
};
