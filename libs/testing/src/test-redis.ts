import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TEST_ENV, testEnv } from './test-environment.js';

export interface TestRedis {
  url: string;
  /** REDIS_PREFIX for this test file: every key it writes starts with it. */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
  /** Deletes the prefix's keys matching `pattern` (after the prefix), e.g. to expire them early. */
  cleanupMatching(pattern: string): Promise<void>;
}

const SCAN_BATCH = 500;

/** A key prefix of its own on the test Redis, for one test file. */
export function createTestRedis(): TestRedis {
  const url = testEnv(TEST_ENV.redisUrl);
  const prefix = `test-${randomBytes(6).toString('hex')}`;
  const deleteMatching = async (pattern: string) => {
    const client = new Redis(url);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:${pattern}`, 'COUNT', SCAN_BATCH);
        if (keys.length > 0) await client.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  };
  return { url, prefix, cleanup: () => deleteMatching('*'), cleanupMatching: deleteMatching };
}
