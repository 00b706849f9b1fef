import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { OrgConnection } from './org-connection.js';
import { OrgRegistryRepository } from './org-registry.repository.js';

/** The org has no READY database to query (still provisioning, failed, or deleted). */
export class OrgUnavailableError extends Error {
  override name = 'OrgUnavailableError';
}

const EVICTION_POLL_MS = 10;
/** When a request refused for a full pool queue may try again: a queue that long takes about this long to drain. */
const QUEUE_FULL_RETRY_MS = 1000;

/**
 * One small pg pool per organization, at most ORG_POOLS_TOTAL_MAX connections in all:
 * when a new org needs a pool and the budget is spent, the least recently used pool
 * with no connection checked out is closed. A thousand orgs never mean a thousand pools.
 * Each org waits only for its own ORG_POOL_MAX connections, and at most ORG_POOL_QUEUE_MAX
 * of its requests wait at once; past that, a request is refused at once (RateLimitedError
 * naming the setting) rather than queueing without bound while its org floods.
 */
@Injectable()
export class OrgPoolCache implements OnApplicationShutdown {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly pools = new Map<string, pg.Pool>();
  private readonly maxPools: number;
  /** Serialises pool creation, so two requests for new orgs cannot both take the last free place. */
  private creating: Promise<unknown> = Promise.resolve();
  /** Connections open to org databases right now, across all pools, and the most there ever were. */
  private openConnections = 0;
  private peak = 0;

  constructor(
    private readonly config: PlatformConfig,
    private readonly registry: OrgRegistryRepository,
    private readonly connection: OrgConnection,
  ) {
    this.maxPools = Math.max(1, Math.floor(config.ORG_POOLS_TOTAL_MAX / config.ORG_POOL_MAX));
  }

  /** A connection to the org's database as its own login role; release it when done. */
  async connect(orgId: string): Promise<pg.PoolClient> {
    const pool = this.pools.get(orgId);
    if (pool) {
      this.pools.delete(orgId);
      this.pools.set(orgId, pool);
      this.refuseWhenQueueFull(pool);
      return pool.connect();
    }
    const found = await this.registry.findById(orgId);
    if (!found || found.instance.status !== 'READY') throw new OrgUnavailableError(`organization ${orgId} has no ready database`);
    const url = this.connection.ownerUrl(found.instance);
    const connecting = this.creating.then(async () => {
      const existing = this.pools.get(orgId);
      if (existing) {
        this.refuseWhenQueueFull(existing);
        return existing.connect();
      }
      await this.makeRoom();
      // connect() counts its client at once, so the new pool is not idle (evictable) once we let go.
      return this.open(orgId, url).connect();
    });
    this.creating = connecting.catch(() => undefined);
    return connecting;
  }

  /** Closes the org's pool, e.g. when its database is being dropped. */
  async evict(orgId: string): Promise<void> {
    const pool = this.pools.get(orgId);
    this.pools.delete(orgId);
    await pool?.end();
  }

  /** Number of open pools, for tests and metrics. */
  get size(): number {
    return this.pools.size;
  }

  /**
   * The most connections to org databases this process ever held at once, counted as each
   * one opens, so no spike between two looks can hide; never above ORG_POOLS_TOTAL_MAX.
   */
  get peakConnections(): number {
    return this.peak;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.keys()].map((orgId) => this.evict(orgId)));
  }

  /** Throws when every connection of the org's pool is busy and ORG_POOL_QUEUE_MAX requests wait already. */
  private refuseWhenQueueFull(pool: pg.Pool): void {
    const max = this.config.ORG_POOL_QUEUE_MAX;
    if (pool.idleCount > 0 || pool.totalCount < this.config.ORG_POOL_MAX || pool.waitingCount < max) return;
    throw new RateLimitedError(
      'ORG_POOL_QUEUE_MAX',
      QUEUE_FULL_RETRY_MS,
      `the organization's database connections are all busy and ${max} requests wait for one, the most ORG_POOL_QUEUE_MAX allows; try again later`,
    );
  }

  private open(orgId: string, url: string): pg.Pool {
    const pool = new pg.Pool({
      connectionString: url,
      max: this.config.ORG_POOL_MAX,
      idleTimeoutMillis: this.config.ORG_POOL_IDLE_MS,
      connectionTimeoutMillis: this.config.CONNECT_TIMEOUT_MS,
    });
    // A dropped database or a restarted server surfaces on the next query; the idle client's error must not crash us.
    pool.on('error', () => undefined);
    pool.on('connect', () => (this.peak = Math.max(this.peak, ++this.openConnections)));
    pool.on('remove', () => this.openConnections--);
    this.pools.set(orgId, pool);
    return pool;
  }

  private async makeRoom(): Promise<void> {
    const deadline = Date.now() + this.config.CONNECT_TIMEOUT_MS;
    while (this.pools.size >= this.maxPools) {
      const idle = [...this.pools].find(([, pool]) => pool.totalCount === pool.idleCount && pool.waitingCount === 0);
      if (idle) {
        await this.evict(idle[0]);
        continue;
      }
      if (Date.now() > deadline) throw new OrgUnavailableError('every organization database connection is busy; try again');
      await delay(EVICTION_POLL_MS);
    }
  }
}
