import type { Cluster } from 'ioredis';
import { startTestRedisCluster, testConfig } from '#libs/testing';
import { RedisConnection } from './redis-connection.js';

describe('RedisConnection on a Redis Cluster (real cluster)', () => {
  it('pipelines the commands of one tick on the shared connection, not on the blocking copies', async () => {
    const cluster = await startTestRedisCluster(3);
    const redis = cluster.testRedis();
    const connection = new RedisConnection(testConfig({ ...redis.env, REDIS_PREFIX: redis.prefix }));
    const blocking = connection.duplicate() as unknown as Cluster;
    try {
      const shared = connection.cluster!;
      await shared.ping();
      const keys = Array.from({ length: 20 }, (_, i) => `${redis.prefix}:{pipelined}:${i}`);
      const replies = Promise.all(keys.map((key) => shared.get(key)));
      // Queued for one write per node at the next tick instead of one write per command.
      expect(shared.autoPipelineQueueSize).toBe(keys.length);
      expect(await replies).toEqual(keys.map(() => null));

      await blocking.ping();
      const blockingReplies = Promise.all(keys.map((key) => blocking.get(key)));
      expect(blocking.autoPipelineQueueSize).toBe(0);
      await blockingReplies;
    } finally {
      blocking.disconnect();
      await connection.onApplicationShutdown();
      await cluster.stop();
    }
  });
});
