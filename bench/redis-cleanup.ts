import { Redis } from 'ioredis';

/** Keys unlinked per command while dropping a prefix. */
const BATCH = 500;

/**
 * Drops every key of a benchmark's own prefix from the Redis at `redisUrl` (SCAN, then UNLINK
 * in batches), so runs do not pile their keys up in a Redis they share with other work.
 * Returns how many keys it dropped.
 */
export async function dropRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  let dropped = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', BATCH);
      cursor = next;
      if (keys.length) dropped += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return dropped;
}
