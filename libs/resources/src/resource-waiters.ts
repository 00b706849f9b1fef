import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisConnection } from '#libs/redis';
import { ResourceStateStore } from './resource-state.store.js';

/**
 * Wakes callers waiting for an environment. The release that frees one hands it to the
 * oldest waiter inside its script and publishes the waiter's token; this process listens
 * on one subscriber connection (opened at the first wait) and wakes the matching caller.
 * A missed message only delays the caller to the end of its wait, when it collects anyway.
 */
@Injectable()
export class ResourceWaiters implements OnApplicationShutdown {
  private subscriber: Promise<Redis> | undefined;
  private readonly waiting = new Map<string, () => void>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly store: ResourceStateStore,
  ) {}

  /** Listens for `token` before the caller queues, so a hand-over right after cannot be missed. */
  async register(token: string): Promise<{ woken: (timeoutMs: number, signal?: AbortSignal) => Promise<void>; cancel: () => void }> {
    await this.listen();
    let wake!: () => void;
    const wokenUp = new Promise<void>((resolve) => (wake = resolve));
    this.waiting.set(token, wake);
    const cancel = () => this.waiting.delete(token);
    return {
      cancel,
      woken: async (timeoutMs, signal) => {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = () => wake();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await Promise.race([wokenUp, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          cancel();
        }
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    for (const wake of this.waiting.values()) wake();
    if (this.subscriber) (await this.subscriber).disconnect();
  }

  private listen(): Promise<Redis> {
    this.subscriber ??= (async () => {
      const subscriber = this.connection.duplicate();
      subscriber.on('message', (_channel: string, token: string) => this.waiting.get(token)?.());
      await subscriber.subscribe(this.store.wakeChannel);
      return subscriber;
    })();
    return this.subscriber;
  }
}
