import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { EventType, Topic } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { SingleFlight } from '#libs/runtime';
import { ResourceRepository } from './resource.repository.js';
import {
  ADD_ENVIRONMENT,
  ALLOCATE,
  COLLECT_WAITER,
  CREATE_POOL,
  EXPIRE_DUE,
  EXTEND,
  LOAD,
  RELEASE,
  RELEASE_HOLDER,
  RETIRE_ENVIRONMENT,
  UPDATE_ENVIRONMENT,
} from './resource-scripts.js';
import type { AllocationView, EnvironmentView, LeaseView, PoolView, ResourceChange, ResourceSnapshot } from './resource-views.js';

/** What a resource script answers: an outcome word, then JSON texts or a detail. */
type ScriptReply = [string, ...(string | number)[]];

type ScriptName =
  | 'resCreatePool'
  | 'resAddEnvironment'
  | 'resUpdateEnvironment'
  | 'resRetireEnvironment'
  | 'resAllocate'
  | 'resCollectWaiter'
  | 'resExtend'
  | 'resRelease'
  | 'resReleaseHolder'
  | 'resExpireDue';

const resourceScript = (lua: string) => new LuaScript<ScriptReply>(lua, 3);
const SCRIPTS: Record<ScriptName, LuaScript<ScriptReply>> = {
  resCreatePool: resourceScript(CREATE_POOL),
  resAddEnvironment: resourceScript(ADD_ENVIRONMENT),
  resUpdateEnvironment: resourceScript(UPDATE_ENVIRONMENT),
  resRetireEnvironment: resourceScript(RETIRE_ENVIRONMENT),
  resAllocate: resourceScript(ALLOCATE),
  resCollectWaiter: resourceScript(COLLECT_WAITER),
  resExtend: resourceScript(EXTEND),
  resRelease: resourceScript(RELEASE),
  resReleaseHolder: resourceScript(RELEASE_HOLDER),
  resExpireDue: resourceScript(EXPIRE_DUE),
};
const loadScript = new LuaScript<number>(LOAD, 1);

/** The consumer group (and its one consumer) of the write-behind streams; a per-org lock keeps it to one reader at a time. */
const SYNC_GROUP = 'resource-sync';

/** Outcome of a script, decoded. */
export type StoreReply<T> =
  { outcome: 'ok'; value: T } | { outcome: 'missing' | 'none' | 'waiting' | 'limit' } | { outcome: 'conflict'; detail: string };

function lease(reply: ScriptReply): LeaseView {
  return { ...(JSON.parse(String(reply[1])) as AllocationView), environment: JSON.parse(String(reply[2])) as EnvironmentView };
}

function decode<T>(reply: ScriptReply, value: (reply: ScriptReply) => T): StoreReply<T> {
  const [outcome, detail] = reply;
  if (outcome === 'ok') return { outcome, value: value(reply) };
  if (outcome === 'conflict') return { outcome, detail: String(detail ?? '') };
  return { outcome: outcome as 'missing' | 'none' | 'waiting' | 'limit' };
}

function fromHash<T>(hash: Record<string, string>): T | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  return Object.fromEntries(Object.entries(hash).map(([field, json]) => [field, JSON.parse(json) as unknown])) as T;
}

/**
 * The resource tier in Redis: pools, environments and leases of each org, changed only
 * by the Lua scripts of `resource-scripts.ts`. When an org's state is missing (Redis came
 * back empty) the first script to notice rebuilds it from the org database and runs again.
 */
@Injectable()
export class ResourceStateStore {
  private readonly redis: Redis;
  /** Rebuilds under way in this process, so concurrent requests share one. */
  private readonly loading = new SingleFlight<string>();

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    private readonly repository: ResourceRepository,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {
    this.redis = connection.client;
  }

  /** What the scripts' `emit` appends with: type and topic template from #libs/contracts, the stream's bound. */
  private get eventSettings(): string {
    return JSON.stringify({
      maxLen: String(this.config.EVENT_STREAM_MAX_LENGTH),
      type: EventType.resourceUpdated,
      topic: Topic.resource('{kind}', '{id}'),
    });
  }

  /** Channel on which a waiter's token is published when an environment was handed to it. */
  get wakeChannel(): string {
    return this.keys.platform('resource-wake');
  }

  /** Orgs that have resource state in Redis: what the sweeper and the sync writer visit. */
  get orgsKey(): string {
    return this.keys.platform('resource-orgs');
  }

  /** Creates the pool unless its name is taken (`conflict`) or the org has `maxPools` (`limit`). */
  async createPool(orgId: string, id: string, name: string, kind: string, maxPools: number): Promise<StoreReply<PoolView>> {
    return decode(await this.run(orgId, 'resCreatePool', id, name, kind, maxPools), (reply) => JSON.parse(String(reply[1])) as PoolView);
  }

  /** Adds the environment unless its name is taken (`conflict`) or the pool has `maxEnvironments`, retired ones included (`limit`). */
  async addEnvironment(
    orgId: string,
    poolId: string,
    id: string,
    name: string,
    attributes: object,
    maxEnvironments: number,
  ): Promise<StoreReply<EnvironmentView>> {
    const reply = await this.run(orgId, 'resAddEnvironment', poolId, id, name, JSON.stringify(attributes), maxEnvironments);
    return decode(reply, (ok) => JSON.parse(String(ok[1])) as EnvironmentView);
  }

  async updateEnvironment(orgId: string, poolId: string, id: string, attributes: object): Promise<StoreReply<EnvironmentView>> {
    const reply = await this.run(orgId, 'resUpdateEnvironment', poolId, id, JSON.stringify(attributes));
    return decode(reply, (ok) => JSON.parse(String(ok[1])) as EnvironmentView);
  }

  async retireEnvironment(orgId: string, poolId: string, id: string): Promise<StoreReply<EnvironmentView>> {
    return decode(await this.run(orgId, 'resRetireEnvironment', poolId, id), (ok) => JSON.parse(String(ok[1])) as EnvironmentView);
  }

  /**
   * Takes a free environment of the pool (named by its name, else its id, as `resolvePool`
   * reads it). With a waiter token, an empty pool queues the caller (outcome `waiting`)
   * for `waiterTtlMs`; the environment is then handed over by the release that frees one,
   * and `collectWaiter` picks it up.
   */
  async allocate(
    orgId: string,
    request: {
      pool: string;
      allocationId: string;
      holder: string;
      ttlMs: number;
      waiterToken?: string;
      waiterTtlMs?: number;
      /** Most waiters the pool may already have for this caller to join them; none: no limit. */
      maxWaiters?: number;
    },
  ): Promise<StoreReply<LeaseView>> {
    const reply = await this.run(
      orgId,
      'resAllocate',
      request.pool,
      request.allocationId,
      request.holder,
      request.ttlMs,
      request.waiterToken ?? '',
      request.waiterTtlMs ?? 0,
      request.maxWaiters ?? 0,
    );
    return decode(reply, lease);
  }

  /** Leaves the pool's wait queue; the lease if an environment was handed over meanwhile (outcome `none` otherwise). */
  async collectWaiter(orgId: string, poolId: string, waiterToken: string): Promise<StoreReply<LeaseView>> {
    return decode(await this.run(orgId, 'resCollectWaiter', poolId, waiterToken), lease);
  }

  async extend(orgId: string, allocationId: string, ttlMs: number): Promise<StoreReply<LeaseView>> {
    return decode(await this.run(orgId, 'resExtend', allocationId, ttlMs), lease);
  }

  async release(orgId: string, allocationId: string): Promise<StoreReply<AllocationView>> {
    return decode(await this.run(orgId, 'resRelease', allocationId), (ok) => JSON.parse(String(ok[1])) as AllocationView);
  }

  /** Releases every live lease of `holder`; returns how many there were. */
  async releaseHolder(orgId: string, holder: string): Promise<number> {
    return Number((await this.run(orgId, 'resReleaseHolder', holder))[1]);
  }

  /** Ends up to `limit` leases past their expiry as `expired`; returns how many. */
  async expireDue(orgId: string, limit: number): Promise<number> {
    return Number((await this.run(orgId, 'resExpireDue', limit))[1]);
  }

  async listPools(orgId: string): Promise<PoolView[]> {
    await this.ensureLoaded(orgId);
    const pools = Object.values(await this.redis.hgetall(this.key(orgId, 'pools'))).map((json) => JSON.parse(json) as PoolView);
    const pipeline = this.redis.pipeline();
    for (const pool of pools) pipeline.hgetall(this.key(orgId, 'pool', pool.id, 'counts'));
    const counts = (await pipeline.exec()) ?? [];
    return pools
      .map((pool, index) => ({ ...pool, counts: countsOf(counts[index]?.[1] as Record<string, string>) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Leases held and callers waiting in each of the org's pools, as Redis has them now
   * (no rebuild: an org whose state is not loaded has none live). For /metrics.
   */
  async leaseLoad(orgId: string): Promise<{ pool: string; active: number; waiting: number }[]> {
    const pools = Object.values(await this.redis.hgetall(this.key(orgId, 'pools'))).map((json) => JSON.parse(json) as PoolView);
    if (pools.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const pool of pools)
      pipeline.hget(this.key(orgId, 'pool', pool.id, 'counts'), 'allocated').llen(this.key(orgId, 'pool', pool.id, 'waiters'));
    const replies = (await pipeline.exec()) ?? [];
    return pools.map((pool, i) => ({
      pool: pool.name,
      active: Number(replies[i * 2]?.[1] ?? 0),
      waiting: Number(replies[i * 2 + 1]?.[1] ?? 0),
    }));
  }

  /** The pool's id from its id or name, or undefined. */
  async resolvePool(orgId: string, reference: string): Promise<string | undefined> {
    // The loaded marker is read with the names: every allocation resolves its pool, and a
    // loaded org (all but the first call) then costs one round trip rather than two.
    const read = async () =>
      (await this.redis
        .pipeline()
        .exists(this.markerKey(orgId))
        .hget(this.key(orgId, 'pool-names'), reference)
        .hexists(this.key(orgId, 'pools'), reference)
        .exec()) as [[null, number], [null, string | null], [null, number]];
    let reply = await read();
    if (!reply[0][1]) {
      await this.ensureLoaded(orgId);
      reply = await read();
    }
    const [, [, byName], [, byId]] = reply;
    return byName ?? (byId ? reference : undefined);
  }

  async getPool(orgId: string, poolId: string): Promise<PoolView | undefined> {
    const [[, json], [, counts]] = (await this.redis
      .pipeline()
      .hget(this.key(orgId, 'pools'), poolId)
      .hgetall(this.key(orgId, 'pool', poolId, 'counts'))
      .exec()) as [[null, string | null], [null, Record<string, string>]];
    return json ? { ...(JSON.parse(json) as PoolView), counts: countsOf(counts) } : undefined;
  }

  /**
   * Up to `limit` environments of the pool whose names sort after `after` (code-unit
   * order), and whether more follow. Only the names are read whole; the page's
   * environments are the only ones fetched.
   */
  async environmentPage(
    orgId: string,
    poolId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ items: EnvironmentView[]; more: boolean }> {
    const idsByName = await this.redis.hgetall(this.key(orgId, 'pool', poolId, 'envs'));
    const names = Object.keys(idsByName)
      .filter((name) => after === undefined || name > after)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = names.slice(0, limit);
    return {
      items: await this.hashes<EnvironmentView>(page.map((name) => this.key(orgId, 'env', idsByName[name]!))),
      more: names.length > limit,
    };
  }

  /** The org's environment with this id, in whichever pool. */
  async findEnvironment(orgId: string, id: string): Promise<EnvironmentView | undefined> {
    await this.ensureLoaded(orgId);
    return this.getEnvironment(orgId, id);
  }

  async getEnvironment(orgId: string, id: string): Promise<EnvironmentView | undefined> {
    return fromHash<EnvironmentView>(await this.redis.hgetall(this.key(orgId, 'env', id)));
  }

  /** The lease with its environment, while Redis keeps it (live, or ended within RESOURCE_ENDED_RETENTION_SECONDS). */
  async getLease(orgId: string, allocationId: string): Promise<LeaseView | undefined> {
    await this.ensureLoaded(orgId);
    const allocation = fromHash<AllocationView>(await this.redis.hgetall(this.key(orgId, 'alloc', allocationId)));
    if (!allocation) return undefined;
    const environment = await this.getEnvironment(orgId, allocation.environmentId);
    return environment && { ...allocation, environment };
  }

  /** Orgs with resource state in Redis. */
  orgs(): Promise<string[]> {
    return this.redis.smembers(this.orgsKey);
  }

  /**
   * Up to `count` changes of the org not yet written to Postgres, oldest first: first any
   * read earlier but not acknowledged (a writer died or Postgres failed), then new ones.
   */
  async pendingChanges(orgId: string, consumer: Redis, count: number): Promise<{ ids: string[]; changes: ResourceChange[] }> {
    const stream = this.changesKey(orgId);
    await consumer.xgroup('CREATE', stream, SYNC_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.includes('BUSYGROUP')) throw error;
    });
    let entries = await this.readGroup(consumer, stream, '0', count);
    if (entries.length === 0) entries = await this.readGroup(consumer, stream, '>', count);
    return {
      ids: entries.map(([id]) => id),
      changes: entries.map(([, fields]) => {
        const field = (name: string) => fields[fields.indexOf(name) + 1]!;
        return {
          rev: Number(field('rev')),
          kind: field('kind'),
          action: field('action'),
          at: field('at'),
          data: JSON.parse(field('data')) as unknown,
        } as ResourceChange;
      }),
    };
  }

  /** The changes are in Postgres: acknowledge and drop them. */
  async acknowledge(orgId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const stream = this.changesKey(orgId);
    await this.redis
      .multi()
      .xack(stream, SYNC_GROUP, ...ids)
      .xdel(stream, ...ids)
      .exec();
  }

  /** Changes of the org waiting to be written to Postgres. */
  async backlog(orgId: string): Promise<number> {
    return this.redis.xlen(this.changesKey(orgId));
  }

  /** Rebuilds the org's state from its database if Redis has none (came back empty, or the org never used resources). */
  async ensureLoaded(orgId: string): Promise<void> {
    if (await this.redis.exists(this.markerKey(orgId))) return;
    await this.loading.run(orgId, () => this.load(orgId));
  }

  private async load(orgId: string): Promise<void> {
    const snapshot = await this.repository.snapshot(orgId);
    const loaded = await loadScript.run(this.redis, this.markerKey(orgId), JSON.stringify(this.loadCommands(orgId, snapshot)));
    await this.redis.sadd(this.orgsKey, orgId);
    if (loaded && snapshot.pools.length > 0) {
      this.logger.info(
        { orgId, pools: snapshot.pools.length, environments: snapshot.environments.length, allocations: snapshot.allocations.length },
        'resource state rebuilt from the org database',
      );
    }
  }

  /** Redis commands recreating the snapshot, in the layout the scripts use. */
  private loadCommands(orgId: string, snapshot: ResourceSnapshot): string[][] {
    const key = (...parts: string[]) => this.key(orgId, ...parts);
    const pairs = (object: object) => Object.entries(object).flatMap(([field, value]) => [field, JSON.stringify(value)]);
    const commands: string[][] = [['SET', key('rev'), String(snapshot.rev)]];
    const counts = new Map(snapshot.pools.map((pool) => [pool.id, { free: 0, allocated: 0, retired: 0 }]));
    for (const pool of snapshot.pools) {
      commands.push(['HSET', key('pools'), pool.id, JSON.stringify(pool)], ['HSET', key('pool-names'), pool.name, pool.id]);
    }
    for (const env of snapshot.environments) {
      commands.push(['HSET', key('env', env.id), ...pairs(env)], ['HSET', key('pool', env.poolId, 'envs'), env.name, env.id]);
      if (env.status === 'free') commands.push(['RPUSH', key('pool', env.poolId, 'free'), env.id]);
      counts.get(env.poolId)![env.status]++;
    }
    for (const [poolId, count] of counts) {
      commands.push(['HSET', key('pool', poolId, 'counts'), ...Object.entries(count).flatMap(([field, n]) => [field, String(n)])]);
    }
    for (const allocation of snapshot.allocations) {
      commands.push(
        ['HSET', key('alloc', allocation.id), ...pairs(allocation)],
        ['ZADD', key('expiries'), String(Date.parse(allocation.expiresAt)), allocation.id],
        ['SADD', key('holder', allocation.holder), allocation.id],
      );
    }
    return commands;
  }

  /** Runs a script; if the org's state is missing, rebuilds it and runs the script again. */
  private async run(orgId: string, script: ScriptName, ...args: (string | number)[]): Promise<ScriptReply> {
    const call = () =>
      SCRIPTS[script].run(
        this.redis,
        this.markerKey(orgId),
        this.keys.orgEvents(orgId),
        this.changesKey(orgId),
        this.key(orgId),
        this.eventSettings,
        this.wakeChannel,
        this.config.RESOURCE_ENDED_RETENTION_SECONDS,
        ...args,
      );
    const reply = await call();
    if (reply[0] !== 'unloaded') return reply;
    await this.ensureLoaded(orgId);
    return call();
  }

  private async readGroup(consumer: Redis, stream: string, from: string, count: number): Promise<[string, string[]][]> {
    const reply = (await consumer.xreadgroup('GROUP', SYNC_GROUP, SYNC_GROUP, 'COUNT', count, 'STREAMS', stream, from)) as
      [string, [string, string[]][]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async hashes<T>(keys: string[]): Promise<T[]> {
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const results = (await pipeline.exec()) ?? [];
    return results
      .map(([error, hash]) => {
        // A failed read must not look like a missing entry: a page would silently skip it.
        if (error) throw error;
        return fromHash<T>(hash as Record<string, string>);
      })
      .filter((value): value is T => value !== undefined);
  }

  private key(orgId: string, ...parts: string[]): string {
    return this.keys.org(orgId, 'res', ...parts);
  }

  private markerKey(orgId: string): string {
    return this.key(orgId, 'loaded');
  }

  private changesKey(orgId: string): string {
    return this.key(orgId, 'changes');
  }
}

function countsOf(hash: Record<string, string> | undefined): PoolView['counts'] {
  return { free: Number(hash?.free ?? 0), allocated: Number(hash?.allocated ?? 0), retired: Number(hash?.retired ?? 0) };
}
