import { createServer } from 'node:net';
import { Redis, ReplyError } from 'ioredis';
import { isRedisUnavailable } from './redis-unavailable.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('isRedisUnavailable: Redis could not serve a command now, or the command was wrong', () => {
  it('is true for what ioredis reports when it cannot reach the server', async () => {
    const port = await closedPort();
    const noRetry = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    noRetry.on('error', () => undefined);
    const closed = await noRetry.get('key').catch((error: unknown) => error);
    const limited = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 10 });
    limited.on('error', () => undefined);
    const retriesUsedUp = await limited.get('key').catch((error: unknown) => error);
    limited.disconnect();
    expect(closed).toBeInstanceOf(Error);
    expect(isRedisUnavailable(closed)).toBe(true);
    expect(isRedisUnavailable(retriesUsedUp)).toBe(true);
  });

  it('is true for the replies of a failover, a resharding or a restart', () => {
    for (const reply of [
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'CLUSTERDOWN The cluster is down',
      'MOVED 3999 127.0.0.1:6381',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    ]) {
      expect(isRedisUnavailable(new ReplyError(reply))).toBe(true);
    }
  });

  it('is false for a command Redis refused for itself, and for errors that are not Redis’', () => {
    expect(isRedisUnavailable(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailable(new ReplyError('ERR unknown command'))).toBe(false);
    expect(isRedisUnavailable(new Error('the handler failed: READONLY is a word it printed'))).toBe(false);
    expect(isRedisUnavailable('Connection is closed.')).toBe(false);
  });
});
