import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { OrgClaims } from '#libs/registry';
import { ResourceRepository } from './resource.repository.js';
import { ResourceStateStore, type StoreReply } from './resource-state.store.js';
import { ResourceWaiters } from './resource-waiters.js';
import type { AllocationView, EnvironmentView, LeaseView, PoolView } from './resource-views.js';
import { PlatformConfig } from '#libs/config';
import { ConflictError, InvalidInputError, LimitExceededError, NotFoundError } from '#libs/contracts';

export class ResourceNotFoundError extends NotFoundError {
  override name = 'ResourceNotFoundError';
}

export class ResourceConflictError extends ConflictError {
  override name = 'ResourceConflictError';
}

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A list cursor that is not one this service gave out. */
export class InvalidCursorError extends InvalidInputError {
  override name = 'InvalidCursorError';
}

const encodeCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (name.length === 0 || encodeCursor(name) !== cursor) throw new InvalidCursorError(['cursor is not a nextCursor of this list']);
  return name;
}

/** How long a waiter's record outlives its wait, so a hand-over racing the wait's end is still collected. */
const WAITER_RECORD_SLACK_MS = 30_000;

export interface AllocationRequest {
  holder: string;
  ttlSeconds: number;
  /** Wait this long (FIFO behind earlier waiters) when none is free; 0 answers at once. */
  waitMs?: number;
  /** Ends the wait early (a cancelled task, a client gone); an environment handed over meanwhile is released. */
  signal?: AbortSignal;
  /** Called once the caller is queued, before it waits (an HTTP request then stops counting as work in progress). */
  onWait?: () => void;
  /** Refuse to wait (LimitExceededError naming QUOTA_LEASE_WAITERS_PER_POOL) when the pool has that many waiters already. */
  capWaiters?: boolean;
}

function orThrow<T>(reply: StoreReply<T>, what: string): T {
  if (reply.outcome === 'ok') return reply.value;
  if (reply.outcome === 'conflict') throw new ResourceConflictError(reply.detail);
  throw new ResourceNotFoundError(`no ${what}`);
}

/**
 * The resources domain as the API and the task runner use it. A pool is named by its
 * id or its name. Redis answers everything current; an ended lease Redis has let go is
 * read from the org database.
 */
@Injectable()
export class ResourceService {
  constructor(
    private readonly store: ResourceStateStore,
    private readonly waiters: ResourceWaiters,
    private readonly repository: ResourceRepository,
    private readonly config: PlatformConfig,
  ) {}

  /** Leases held and callers waiting in each pool of every org with resources, as Redis has them now; for /metrics. */
  async leaseLoad(): Promise<{ orgId: string; pool: string; active: number; waiting: number }[]> {
    const orgs = await this.store.orgs();
    const loads = await Promise.all(orgs.map(async (orgId) => (await this.store.leaseLoad(orgId)).map((load) => ({ orgId, ...load }))));
    return loads.flat();
  }

  async createPool(orgId: string, input: { name: string; kind: string }): Promise<PoolView> {
    const max = this.config.QUOTA_POOLS;
    const reply = await this.store.createPool(orgId, randomUUID(), input.name, input.kind, max);
    if (reply.outcome === 'conflict') throw new ResourceConflictError(`a pool is named ${input.name}`);
    if (reply.outcome === 'limit')
      throw new LimitExceededError('QUOTA_POOLS', `the organization has ${max} pools, the most QUOTA_POOLS allows`);
    return orThrow(reply, 'pool');
  }

  listPools(orgId: string): Promise<PoolView[]> {
    return this.store.listPools(orgId);
  }

  async getPool(orgId: string, pool: string): Promise<PoolView> {
    const found = await this.store.getPool(orgId, await this.poolId(orgId, pool));
    if (!found) throw new ResourceNotFoundError(`no pool ${pool}`);
    return found;
  }

  async addEnvironment(orgId: string, pool: string, input: { name: string; attributes?: object }): Promise<EnvironmentView> {
    const poolId = await this.poolId(orgId, pool);
    const max = this.config.QUOTA_ENVIRONMENTS_PER_POOL;
    const reply = await this.store.addEnvironment(orgId, poolId, randomUUID(), input.name, input.attributes ?? {}, max);
    if (reply.outcome === 'limit') {
      throw new LimitExceededError(
        'QUOTA_ENVIRONMENTS_PER_POOL',
        `pool ${pool} has ${max} environments (retired ones included), the most QUOTA_ENVIRONMENTS_PER_POOL allows`,
      );
    }
    return orThrow(reply, `pool ${pool}`);
  }

  /** One page of the pool's environments by name, retired ones included; `nextCursor` continues after the last one. */
  async listEnvironments(orgId: string, pool: string, page: { limit: number; cursor?: string }): Promise<Page<EnvironmentView>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const { items, more } = await this.store.environmentPage(orgId, await this.poolId(orgId, pool), after, page.limit);
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.name) : null };
  }

  /** The environment with this id, when it is one of the org's (any pool). */
  findEnvironment(orgId: string, environmentId: string): Promise<EnvironmentView | undefined> {
    return this.store.findEnvironment(orgId, environmentId);
  }

  async getEnvironment(orgId: string, pool: string, environmentId: string): Promise<EnvironmentView> {
    const poolId = await this.poolId(orgId, pool);
    const found = await this.store.getEnvironment(orgId, environmentId);
    if (!found || found.poolId !== poolId) throw new ResourceNotFoundError(`no environment ${environmentId} in pool ${pool}`);
    return found;
  }

  async updateEnvironment(orgId: string, pool: string, environmentId: string, attributes: object): Promise<EnvironmentView> {
    const poolId = await this.poolId(orgId, pool);
    return orThrow(
      await this.store.updateEnvironment(orgId, poolId, environmentId, attributes),
      `environment ${environmentId} in pool ${pool}`,
    );
  }

  async retireEnvironment(orgId: string, pool: string, environmentId: string): Promise<EnvironmentView> {
    const poolId = await this.poolId(orgId, pool);
    return orThrow(await this.store.retireEnvironment(orgId, poolId, environmentId), `environment ${environmentId} in pool ${pool}`);
  }

  /**
   * Leases a free environment of the pool for `ttlSeconds`. None free: a conflict at once,
   * or with `waitMs` the caller queues behind earlier waiters and gets the first one freed
   * within that time (a conflict after it).
   */
  async allocate(orgId: string, pool: string, request: AllocationRequest): Promise<LeaseView> {
    const lease = { allocationId: randomUUID(), holder: request.holder, ttlMs: request.ttlSeconds * 1000 };
    const waitMs = request.waitMs ?? 0;
    // The script resolves the pool's name itself: one round trip for an allocation that does not wait.
    if (waitMs <= 0 || request.signal?.aborted) return this.granted(await this.store.allocate(orgId, { ...lease, pool }), pool);
    const poolId = await this.poolId(orgId, pool);
    const allocation = { ...lease, pool: poolId };
    const token = randomUUID();
    const waiter = await this.waiters.register(token);
    try {
      const maxWaiters = request.capWaiters ? this.config.QUOTA_LEASE_WAITERS_PER_POOL : undefined;
      const first = await this.store.allocate(orgId, {
        ...allocation,
        waiterToken: token,
        waiterTtlMs: waitMs + WAITER_RECORD_SLACK_MS,
        maxWaiters,
      });
      if (first.outcome === 'limit') {
        throw new LimitExceededError(
          'QUOTA_LEASE_WAITERS_PER_POOL',
          `pool ${pool} has ${maxWaiters} callers waiting for an environment, the most QUOTA_LEASE_WAITERS_PER_POOL allows`,
        );
      }
      if (first.outcome !== 'waiting') return this.granted(first, pool);
      request.onWait?.();
      await waiter.woken(waitMs, request.signal);
      const collected = await this.store.collectWaiter(orgId, poolId, token);
      if (request.signal?.aborted && collected.outcome === 'ok') {
        // Handed over as the caller stopped waiting: nobody would hold it until its lease ran out.
        await this.store.release(orgId, collected.value.id);
        throw new ResourceConflictError(`the wait for pool ${pool} was ended before an environment was handed over`);
      }
      return this.granted(collected, pool);
    } finally {
      waiter.cancel();
    }
  }

  async getAllocation(claims: OrgClaims, allocationId: string): Promise<LeaseView | AllocationView> {
    const live = await this.store.getLease(claims.org_id, allocationId);
    if (live) return live;
    const persisted = await this.repository.findAllocation(claims, allocationId);
    if (!persisted) throw new ResourceNotFoundError(`no allocation ${allocationId}`);
    return persisted;
  }

  /** The lease then ends `ttlSeconds` from now. */
  async extend(orgId: string, allocationId: string, ttlSeconds: number): Promise<LeaseView> {
    const reply = await this.store.extend(orgId, allocationId, ttlSeconds * 1000);
    if (reply.outcome === 'conflict') throw new ResourceConflictError(`allocation is ${JSON.parse(reply.detail) as string}`);
    return orThrow(reply, `allocation ${allocationId}`);
  }

  async release(orgId: string, allocationId: string): Promise<AllocationView> {
    const reply = await this.store.release(orgId, allocationId);
    if (reply.outcome === 'conflict') throw new ResourceConflictError(`allocation is ${JSON.parse(reply.detail) as string}`);
    return orThrow(reply, `allocation ${allocationId}`);
  }

  /** Releases every live lease of `holder` (a task's leases when it ends); returns how many. */
  releaseHolder(orgId: string, holder: string): Promise<number> {
    return this.store.releaseHolder(orgId, holder);
  }

  private granted(reply: StoreReply<LeaseView>, pool: string): LeaseView {
    if (reply.outcome === 'none' || reply.outcome === 'waiting') throw new ResourceConflictError(`no environment of pool ${pool} is free`);
    return orThrow(reply, `pool ${pool}`);
  }

  private async poolId(orgId: string, pool: string): Promise<string> {
    const id = await this.store.resolvePool(orgId, pool);
    if (!id) throw new ResourceNotFoundError(`no pool ${pool}`);
    return id;
  }
}
