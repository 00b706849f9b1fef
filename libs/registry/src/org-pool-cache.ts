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
 * One small pg pool per organization, at most ORG_POOLS_TOTAL_MAX connections in all,
 * counted connection by connection: a pool opens its first connection, or one more up to
 * ORG_POOL_MAX, only while the budget has one left, so as many orgs as the budget holds
 * keep a connection each, and a busy org grows only into connections nobody else holds.
 * When an org needs its first connection and the budget is spent, the least recently
 * used pool with no connection checked out is closed. A thousand orgs never mean a
 * thousand pools. An org whose pool cannot grow waits for its own connections, and at
 * most ORG_POOL_QUEUE_MAX of its requests wait at once; past that, a request is refused at
 * once (RateLimitedError naming the setting) rather than queueing without bound while its
 * org floods.
 */
@Injectable()
export class OrgPoolCache implements OnApplicationShutdown {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly pools = new Map<string, pg.Pool>();
  /** Serialises pool creation, so two requests for new orgs cannot both take the last free place. */
  private creating: Promise<unknown> = Promise.resolve();
  /** Connections open to org databases right now, across all pools, and the most there ever were. */
  private openConnections = 0;
  private peak = 0;
  /** Connections this cache asked a pool to open that have not connected (or failed) yet. */
  private connecting = 0;

  constructor(
    private readonly config: PlatformConfig,
    private readonly registry: OrgRegistryRepository,
    private readonly connection: OrgConnection,
  ) {}

  /** A connection to the org's database as its own login role; release it when done. */
  async connect(orgId: string): Promise<pg.PoolClient> {
    const pool = this.pools.get(orgId);
    if (pool) {
      this.pools.delete(orgId);
      this.pools.set(orgId, pool);
      // One with connections of its own uses them, or grows into the budget's spare ones.
      if (pool.totalCount > 0) return this.connectWithin(pool);
    }
    const url = pool ? undefined : await this.ownerUrl(orgId);
    const connecting = this.creating.then(async () => {
      const existing = this.pools.get(orgId);
      if (existing && existing.totalCount > 0) return this.connectWithin(existing);
      return this.connectMakingRoom(orgId, existing ?? this.open(orgId, url ?? (await this.ownerUrl(orgId))));
    });
    this.creating = connecting.catch(() => undefined);
    return connecting;
  }

  /** The org's database URL as its owner, for a pool to be opened; OrgUnavailableError if it has no READY database. */
  private async ownerUrl(orgId: string): Promise<string> {
    const found = await this.registry.findById(orgId);
    if (!found || found.instance.status !== 'READY') throw new OrgUnavailableError(`organization ${orgId} has no ready database`);
    return this.connection.ownerUrl(found.instance);
  }

  /**
   * Connections open, opening or closing to every org database: each pool counts a client
   * from the moment its connect() decides to open one, so two requests in one tick see
   * each other.
   */
  private connectionsInUse(): number {
    let held = 0;
    for (const pool of this.pools.values()) held += pool.totalCount;
    // A pool lets go of a client it closes (idle, broken, evicted) before the connection is
    // closed; until then it still counts, as `openConnections` has it.
    return Math.max(held, this.openConnections + this.connecting);
  }

  /**
   * A connection of the pool, which may open one more (up to ORG_POOL_MAX) only while the
   * budget has one spare; else the request waits for one of the pool's own. pg's pool
   * reads `options.max` on every connect and opens a client within that call, so the cap
   * is raised for this call alone and set back to what the pool then holds. A pool with an
   * idle connection hands that one out, so the budget is looked at only when it could grow.
   */
  private connectWithin(pool: pg.Pool): Promise<pg.PoolClient> {
    const grows =
      pool.idleCount === 0 && pool.totalCount < this.config.ORG_POOL_MAX && this.connectionsInUse() < this.config.ORG_POOLS_TOTAL_MAX;
    pool.options.max = Math.max(1, pool.totalCount + (grows ? 1 : 0));
    this.refuseWhenQueueFull(pool);
    const before = pool.totalCount;
    const connected = pool.connect();
    pool.options.max = Math.max(1, pool.totalCount);
    if (pool.totalCount === before) return connected;
    this.connecting++;
    return connected.finally(() => this.connecting--);
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

  /** Throws when every connection the org's pool may hold is busy and ORG_POOL_QUEUE_MAX requests wait already. */
  private refuseWhenQueueFull(pool: pg.Pool): void {
    const max = this.config.ORG_POOL_QUEUE_MAX;
    if (pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 1) || pool.waitingCount < max) return;
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

  /**
   * The first connection of `orgId`'s pool: closes least recently used pools of other orgs
   * with no connection checked out until the budget has a connection spare (and the pools
   * fit in it), waiting for one to become idle if none is, up to CONNECT_TIMEOUT_MS. The
   * connection is asked for in the same tick as the last look at the budget, so nothing
   * else takes the spare one in between; connect() counts its client at once, so the pool
   * is not idle (evictable) once we let go.
   */
  private async connectMakingRoom(orgId: string, pool: pg.Pool): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.config.CONNECT_TIMEOUT_MS;
    const limit = this.config.ORG_POOLS_TOTAL_MAX;
    for (;;) {
      if (this.connectionsInUse() < limit && this.pools.size <= limit) return this.connectWithin(pool);
      const idle = [...this.pools].find(
        ([other, candidate]) => other !== orgId && candidate.totalCount === candidate.idleCount && candidate.waitingCount === 0,
      );
      if (idle) {
        await this.evict(idle[0]);
        continue;
      }
      if (Date.now() > deadline) throw new OrgUnavailableError('every organization database connection is busy; try again');
      await delay(EVICTION_POLL_MS);
    }
  }
}
