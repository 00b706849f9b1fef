import type { Cluster } from 'ioredis';
import { createServer, type AddressInfo } from 'node:net';
import { startTestRedisCluster, testConfig } from '#libs/testing';
import { connectRedis, RedisConnection } from './redis-connection.js';

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

describe('connectRedis on a Redis Cluster no node of which answers', () => {
  it('ends a client, and a duplicate of it, disconnected while it waits to reconnect', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const config = testConfig({ REDIS_CLUSTER_NODES: `127.0.0.1:${closedPort}`, REDIS_PREFIX: 'unused' });
    const client = connectRedis(config, { maxRetriesPerRequest: null }) as unknown as Cluster;
    const clients = [client];
    try {
      for (const make of [() => client, () => client.duplicate()]) {
        const cluster = make();
        if (cluster !== client) clients.push(cluster);
        cluster.on('error', () => undefined);
        // (not events.once: it rejects on the connection errors this cluster emits meanwhile)
        if (cluster.status !== 'reconnecting') await new Promise((resolve) => cluster.once('reconnecting', resolve));
        expect(cluster.nodes('all')).toHaveLength(0);
        const ended = new Promise((resolve) => cluster.once('end', resolve));
        cluster.disconnect();
        await ended;
        expect(cluster.status).toBe('end');
      }
    } finally {
      // Were one left reconnecting, this file would never end.
      for (const cluster of clients) if (cluster.status !== 'end') cluster.disconnect();
    }
  }, 10_000);
});
