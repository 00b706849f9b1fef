import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TEST_ENV, testEnv } from './test-environment.js';

export interface TestRedis {
  /** The standalone Redis' URL; empty on a cluster or sentinel deployment (see `env`). */
  url: string;
  /** The settings that point the platform at this Redis (REDIS_URL, or the cluster's or sentinels' settings). */
  env: Record<string, string>;
  /** REDIS_PREFIX for this test file: every key it writes starts with it. */
  prefix: string;
  /** A new client of this Redis (a cluster client on a cluster); the caller closes it. */
  connect(): Redis;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
  /** Deletes the prefix's keys matching `pattern` (after the prefix), e.g. to expire them early. */
  cleanupMatching(pattern: string): Promise<void>;
}

const SCAN_BATCH = 500;

/**
 * Unlinks every key of `client`'s server matching `pattern` (a SCAN MATCH glob), SCAN then
 * UNLINK in batches; returns how many it unlinked. `oneByOne` for a cluster node, whose keys
 * of one batch sit in many slots.
 */
export async function unlinkMatching(client: Redis, pattern: string, oneByOne = false): Promise<number> {
  let unlinked = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
    if (oneByOne) unlinked += (await Promise.all(keys.map((key) => client.unlink(key)))).reduce((sum, n) => sum + n, 0);
    else if (keys.length > 0) unlinked += await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return unlinked;
}

/**
 * Deletes every key matching `pattern` from the standalone Redis at `url`; returns how many
 * it deleted. Test files and benchmarks drop their own prefix with it, so a Redis shared
 * with other work keeps only its own keys.
 */
export async function dropRedisKeys(url: string, pattern: string): Promise<number> {
  const client = new Redis(url);
  try {
    return await unlinkMatching(client, pattern);
  } finally {
    client.disconnect();
  }
}

/** A key prefix of its own on the test Redis, for one test file. */
export function createTestRedis(): TestRedis {
  const url = testEnv(TEST_ENV.redisUrl);
  const prefix = `test-${randomBytes(6).toString('hex')}`;
  const deleteMatching = async (pattern: string) => {
    await dropRedisKeys(url, `${prefix}:${pattern}`);
  };
  return {
    url,
    env: { REDIS_URL: url },
    prefix,
    connect: () => new Redis(url, { maxRetriesPerRequest: null }),
    cleanup: () => deleteMatching('*'),
    cleanupMatching: deleteMatching,
  };
}
