import type { Redis } from 'ioredis';
import { RedisConnection } from '#libs/redis';
import { ResourceConflictError, ResourceService } from '#libs/resources';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform, type BenchPlatform } from '../bench-platform.js';
import { median, percentile, round, type Benchmark, type BenchResult } from '../measure.js';

/** Environments in the contended pool. */
const POOL_SIZE = 20;
/** Callers competing for them at once: more than the pool holds, so many attempts find none free. */
const CALLERS = 64;
const ATTEMPTS_PER_ROUND = 3000;
const WARMUP_ATTEMPTS = 500;
const ROUNDS = 3;
const LEASE_SECONDS = 60;

/** One attempt at leasing: the allocation's latency and whether it got an environment (to release afterwards). */
type Attempt = () => Promise<{ ms: number; release?: () => Promise<unknown> }>;

interface Round {
  allocationsPerSecond: number;
  latencies: number[];
}

/** `CALLERS` loops of allocate-then-release until `attempts` allocations were tried. */
async function contend(attempts: number, attempt: Attempt): Promise<Round> {
  let started = 0;
  let granted = 0;
  const latencies: number[] = [];
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (started < attempts) {
        started++;
        const { ms, release } = await attempt();
        latencies.push(ms);
        if (release) {
          granted++;
          await release();
        }
      }
    }),
  );
  return { allocationsPerSecond: granted / ((performance.now() - begin) / 1000), latencies };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** The floor: a bare Lua LPOP of a free id and RPUSH to give it back, on the platform's own Redis connection. */
function bareLua(redis: Redis, key: string): Attempt {
  return async () => {
    const { ms, value } = await timed(() => redis.eval(`return redis.call('LPOP', KEYS[1])`, 1, key) as Promise<string | null>);
    return { ms, release: value === null ? undefined : () => redis.eval(`return redis.call('RPUSH', KEYS[1], ARGV[1])`, 1, key, value) };
  };
}

function viaService(resources: ResourceService, orgId: string): Attempt {
  return async () => {
    const { ms, value } = await timed(() =>
      resources.allocate(orgId, 'bench', { holder: 'bench', ttlSeconds: LEASE_SECONDS }).catch((error: unknown) => {
        if (error instanceof ResourceConflictError) return undefined;
        throw error;
      }),
    );
    return { ms, release: value && (() => resources.release(orgId, value.id)) };
  };
}

function viaHttp(platform: BenchPlatform, token: string): Attempt {
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${platform.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  return async () => {
    const { ms, value } = await timed(async () => {
      const response = await send('POST', '/v1/pools/bench/allocations', { holder: 'bench', ttlSeconds: LEASE_SECONDS });
      if (response.status !== 201 && response.status !== 409) throw new Error(`allocation answered ${response.status}`);
      return response.status === 201 ? ((await response.json()) as { id: string }) : undefined;
    });
    return { ms, release: value && (() => send('DELETE', `/v1/allocations/${value.id}`).then((response) => response.arrayBuffer())) };
  };
}

/** Rounds of `layer` alternating with rounds of the bare baseline, reported side by side. */
async function compare(name: string, layer: Attempt, baseline: Attempt): Promise<BenchResult[]> {
  await contend(WARMUP_ATTEMPTS, layer);
  await contend(WARMUP_ATTEMPTS, baseline);
  const ours: Round[] = [];
  const bare: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await contend(ATTEMPTS_PER_ROUND, layer));
    bare.push(await contend(ATTEMPTS_PER_ROUND, baseline));
  }
  const rate = median(ours.map((r) => r.allocationsPerSecond));
  const bareRate = median(bare.map((r) => r.allocationsPerSecond));
  const p99 = percentile(
    ours.flatMap((r) => r.latencies),
    0.99,
  );
  const bareP99 = percentile(
    bare.flatMap((r) => r.latencies),
    0.99,
  );
  const context = { callers: CALLERS, poolSize: POOL_SIZE };
  return [
    {
      name: `resources.${name}.allocations`,
      value: round(rate),
      unit: 'allocations/s',
      samples: ROUNDS * ATTEMPTS_PER_ROUND,
      ...context,
      baseline: { name: 'redis.lua_lpop', value: round(bareRate), unit: 'allocations/s' },
      ratio: round(rate / bareRate),
    },
    {
      name: `resources.${name}.p99_latency`,
      value: round(p99),
      unit: 'ms',
      samples: ROUNDS * ATTEMPTS_PER_ROUND,
      ...context,
      baseline: { name: 'redis.lua_lpop', value: round(bareP99), unit: 'ms' },
      ratio: round(p99 / bareP99),
    },
  ];
}

/**
 * Leasing under contention (64 callers, a pool of 20, allocate then release): through
 * the service in-process and through HTTP, each against a bare Lua LPOP/RPUSH of free
 * ids on the same Redis connection, measured in alternating rounds of the same run.
 */
export const resourcesBenchmark: Benchmark = {
  name: 'resources',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment);
    try {
      const org = await platform.createOrg('bench-resources');
      await platform.call('POST', '/v1/pools', { name: 'bench', kind: 'sandbox' }, org.token);
      for (let i = 0; i < POOL_SIZE; i++) await platform.call('POST', '/v1/pools/bench/environments', { name: `env-${i}` }, org.token);
      const redis = platform.api.get(RedisConnection).client;
      const bareKey = `${platform.config.REDIS_PREFIX}:bench-bare-free`;
      await redis.rpush(bareKey, ...Array.from({ length: POOL_SIZE }, (_, i) => `env-${i}`));
      const baseline = bareLua(redis, bareKey);
      const results = [
        ...(await compare('service', viaService(platform.api.get(ResourceService), org.id), baseline)),
        ...(await compare('http', viaHttp(platform, org.token), baseline)),
      ];
      await redis.del(bareKey);
      return results;
    } finally {
      await platform.stop();
    }
  },
};
