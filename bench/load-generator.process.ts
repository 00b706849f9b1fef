import { Redis } from 'ioredis';
import { serveBenchRequests } from './bench-children.js';
import { httpJson } from './http-client.js';

/**
 * A load generator in a process of its own (forked by a benchmark): HTTP requests, resource
 * leases over HTTP or as bare Lua, and paced XADDs for the bare realtime pipeline. Each
 * request answers with the rate it reached and every latency it measured, in ms.
 */

interface Outcome {
  /** Operations that counted per second of the whole run. */
  rate: number;
  latencies: number[];
  /** Operations that counted (requests answered as expected, leases granted, events added). */
  counted: number;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `concurrency` loops calling `attempt` until `count` were started; `attempt` says whether
 * the call counted, or gives the untimed follow-up (a release) to await before the next.
 */
async function drive(
  count: number,
  concurrency: number,
  attempt: () => Promise<boolean | (() => Promise<unknown>)>,
  gapMs = 0,
): Promise<Outcome> {
  let started = 0;
  let counted = 0;
  const latencies: number[] = [];
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        const start = performance.now();
        const outcome = await attempt();
        latencies.push(performance.now() - start);
        if (outcome) counted++;
        if (typeof outcome === 'function') await outcome();
        if (gapMs > 0) await delay(gapMs);
      }
    }),
  );
  return { rate: counted / ((performance.now() - begin) / 1000), latencies, counted };
}

const redisClients = new Map<string, Redis>();
function redisAt(url: string): Redis {
  let client = redisClients.get(url);
  if (!client) redisClients.set(url, (client = new Redis(url, { maxRetriesPerRequest: null })));
  return client;
}

interface HttpRequest {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: unknown;
  count: number;
  concurrency: number;
  gapMs?: number;
  /** Statuses that count as success; anything else fails the run. */
  expect: number[];
}

interface LeaseRequest {
  count: number;
  concurrency: number;
}

async function http({ url, method, headers = {}, body, count, concurrency, gapMs, expect }: HttpRequest): Promise<Outcome> {
  return drive(
    count,
    concurrency,
    async () => {
      const response = await httpJson(url, method, headers, body);
      if (!expect.includes(response.status)) throw new Error(`${method} ${url} answered ${response.status}: ${response.text}`);
      return true;
    },
    gapMs,
  );
}

/** Allocate then release through the API: 201 is a lease (released at once), 409 an empty pool. */
function leaseHttp({ baseUrl, token, pool, count, concurrency }: LeaseRequest & { baseUrl: string; token: string; pool: string }) {
  const headers = { authorization: `Bearer ${token}` };
  return drive(count, concurrency, async () => {
    const response = await httpJson(`${baseUrl}/v1/pools/${pool}/allocations`, 'POST', headers, { holder: 'bench', ttlSeconds: 60 });
    if (response.status === 409) return false;
    if (response.status !== 201) throw new Error(`allocation answered ${response.status}: ${response.text}`);
    const { id } = JSON.parse(response.text) as { id: string };
    // Released outside the timed attempt, as a caller would once done with the environment.
    return () => httpJson(`${baseUrl}/v1/allocations/${id}`, 'DELETE', headers);
  });
}

/** The floor: a bare Lua LPOP of a free id, RPUSHed back afterwards. */
function leaseLua({ redisUrl, key, count, concurrency }: LeaseRequest & { redisUrl: string; key: string }) {
  const redis = redisAt(redisUrl);
  return drive(count, concurrency, async () => {
    const id = (await redis.eval(`return redis.call('LPOP', KEYS[1])`, 1, key)) as string | null;
    if (id === null) return false;
    return () => redis.eval(`return redis.call('RPUSH', KEYS[1], ARGV[1])`, 1, key, id);
  });
}

/** The bare pipeline's producer: `ticks` times, `perTick` envelopes XADDed back to back, then a pause of `gapMs`. */
async function xadd({
  redisUrl,
  key,
  ticks,
  perTick,
  gapMs,
}: {
  redisUrl: string;
  key: string;
  ticks: number;
  perTick: number;
  gapMs: number;
}) {
  const redis = redisAt(redisUrl);
  let sequence = 0;
  return drive(
    ticks,
    1,
    async () => {
      for (let i = 0; i < perTick; i++) {
        const event = { topic: 'bench', type: 'bench.updated', at: new Date().toISOString(), data: { sequence: sequence++ } };
        await redis.xadd(key, 'MAXLEN', '~', '10000', '*', 'event', JSON.stringify(event));
      }
      return true;
    },
    gapMs,
  );
}

serveBenchRequests(async (message) => {
  switch (message.kind) {
    case 'http':
      return http(message as unknown as HttpRequest);
    case 'lease-http':
      return leaseHttp(message as unknown as Parameters<typeof leaseHttp>[0]);
    case 'lease-lua':
      return leaseLua(message as unknown as Parameters<typeof leaseLua>[0]);
    case 'xadd':
      return xadd(message as unknown as Parameters<typeof xadd>[0]);
    default:
      throw new Error(`unknown request ${message.kind}`);
  }
});
