import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { PlatformConfig } from '#libs/config';

/** How long a closing connection waits for Redis to close the socket before destroying it. */
export const REDIS_DISCONNECT_GRACE_MS = 200;

/** The shared Redis command connection; blocking consumers (BullMQ workers) open their own via `duplicate()`. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly options: RedisOptions;
  private readonly quitTimeoutMs: number;

  constructor(config: PlatformConfig) {
    if (!config.REDIS_URL) throw new Error('REDIS_URL must be resolved before the redis module starts');
    this.quitTimeoutMs = config.CONNECT_TIMEOUT_MS;
    this.options = { connectTimeout: config.CONNECT_TIMEOUT_MS, disconnectTimeout: REDIS_DISCONNECT_GRACE_MS, maxRetriesPerRequest: null };
    // Commands issued in the same tick by concurrent requests share one write (and Redis one
    // read): under load the syscalls, not Redis, were the cost. Order on the connection is kept.
    this.client = new Redis(config.REDIS_URL, { ...this.options, enableAutoPipelining: true });
    // Connection errors are retried by ioredis and surfaced by /health/ready; logging each retry is noise.
    this.client.on('error', () => undefined);
  }

  /** A new connection to the same Redis, for a consumer that blocks (BullMQ worker, stream reader). */
  duplicate(): Redis {
    const copy = this.client.duplicate(this.options);
    copy.on('error', () => undefined);
    return copy;
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client, this.quitTimeoutMs);
  }
}

/**
 * Quits politely when Redis answers, so queued replies arrive; otherwise (Redis down,
 * or no answer within `timeoutMs`) drops the connection instead of waiting forever.
 */
export async function closeRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') {
    const quit = client.quit().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    if (await Promise.race([quit, timeout])) return;
  }
  client.disconnect();
}
