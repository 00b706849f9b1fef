import { createLogger } from '#libs/logging';
import { createTestRedis, testConfig } from '#libs/testing';
import { jobLockTiming, QueueFactory } from './queue-factory.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';

describe('job lock timing: a dead worker’s job is taken over within QUEUE_LOCK_DURATION_MS', () => {
  it('splits the setting so the lock plus one stalled-job check never exceed it', () => {
    for (const takeoverMs of [500, 1000, 2999, 30_000, 600_000]) {
      const { lockDuration, stalledInterval } = jobLockTiming(takeoverMs);
      expect(lockDuration + stalledInterval).toBe(takeoverMs);
      expect(stalledInterval).toBeGreaterThan(0);
      // The lock is renewed every half lock: it must outlast at least two stalled checks.
      expect(lockDuration).toBeGreaterThanOrEqual(2 * stalledInterval);
    }
  });

  it('gives every BullMQ worker the QueueFactory builds those settings (real Redis)', async () => {
    const redis = createTestRedis();
    const config = testConfig({ REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, QUEUE_LOCK_DURATION_MS: '2000' });
    const connection = new RedisConnection(config);
    const factory = new QueueFactory(connection, new RedisKeys(config), config, createLogger('test', 'silent'));
    try {
      const worker = factory.worker('lock-timing', async () => undefined, { autorun: false });
      expect(worker.opts.lockDuration! + worker.opts.stalledInterval!).toBe(2000);
      expect(worker.opts).toMatchObject(jobLockTiming(2000));
    } finally {
      await factory.onApplicationShutdown();
      await connection.onApplicationShutdown();
      await redis.cleanup();
    }
  });
});
