import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { closeRedis, LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { ResourceRepository, ResourceStateStore } from '#libs/resources';

/** Changes written to Postgres in one transaction. */
const SYNC_BATCH = 500;
/** Batches one org may write per round before the next org gets its turn. */
const BATCHES_PER_ROUND = 20;
/** How long a writer's claim on an org lasts unrenewed; a writer that dies mid-batch is replaced after it. */
const ORG_LOCK_MS = 30_000;
/** Drops the writer's claim on an org, only if it is still this writer's. KEYS: the lock. ARGV: the writer's id. */
const RELEASE_ORG_LOCK = new LuaScript<null>(`if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end`, 1);

/**
 * Write-behind of the resource tier. Every change a script makes is appended, in the same
 * atomic step, to the org's change stream; this writer reads it through a consumer group
 * and writes it to the org database in stream order, then acknowledges and deletes it.
 * One writer per org at a time (a Redis lock), so changes land in order. While Postgres
 * is down the entries stay in Redis, unacknowledged, and are written once it is back:
 * persistence is delayed, nothing is lost. Writes are idempotent (by change number), so
 * a batch written twice (a writer died before acknowledging) changes nothing.
 */
@Injectable()
export class ResourceSyncWriter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly id = randomUUID();
  private consumer!: Redis;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Orgs whose last write failed, so an outage is logged once, not every round. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly store: ResourceStateStore,
    private readonly repository: ResourceRepository,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.consumer = this.connection.duplicate();
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.syncing;
    await closeRedis(this.consumer, this.config.CONNECT_TIMEOUT_MS);
  }

  /** Writes what every org has waiting; orgs another writer holds are left to it. */
  async syncAll(): Promise<void> {
    for (const orgId of await this.store.orgs()) {
      if (this.stopped) return;
      const lock = this.keys.org(orgId, 'res', 'sync-lock');
      if ((await this.connection.client.set(lock, this.id, 'PX', ORG_LOCK_MS, 'NX')) !== 'OK') continue;
      try {
        await this.syncOrg(orgId);
        if (this.failing.delete(orgId)) this.logger.info({ orgId }, 'resource changes are being written again');
      } catch (error) {
        if (!this.failing.has(orgId))
          this.logger.warn({ orgId, err: (error as Error).message }, 'could not write resource changes; retrying');
        this.failing.add(orgId);
      } finally {
        await RELEASE_ORG_LOCK.run(this.connection.client, lock, this.id);
      }
    }
  }

  private async syncOrg(orgId: string): Promise<void> {
    for (let batch = 0; batch < BATCHES_PER_ROUND; batch++) {
      const { ids, changes } = await this.store.pendingChanges(orgId, this.consumer, SYNC_BATCH);
      if (ids.length === 0) return;
      await this.repository.apply(orgId, changes);
      await this.store.acknowledge(orgId, ids);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.syncing = this.syncAll()
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'resource sync round failed'))
        .finally(() => this.schedule());
    }, this.config.RESOURCE_SYNC_INTERVAL_MS);
  }
}
