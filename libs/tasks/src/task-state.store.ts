import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { EventType, Topic, type LogStream, type TaskLogChunk, type TaskStatus, type TaskView, ConflictError } from '#libs/contracts';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { APPEND_LOG, CLAIM_AND_START_TASK, CREATE_TASK, PERSISTED, TAKE_DUE, TRANSITION_TASK } from './task-scripts.js';

/** Tasks created in the same millisecond as a page cursor that one index read can step over. */
const SAME_MS_SLACK = 64;
/** How long an idempotency key keeps pointing at its task in Redis; Postgres remembers it after. */
const IDEMPOTENCY_TTL_SECONDS = 86_400;

const createTask = new LuaScript<[string, string | number]>(CREATE_TASK, 6);
const transitionTask = new LuaScript<[string, string?]>(TRANSITION_TASK, 6);
const claimAndStartTask = new LuaScript<[string, string?]>(CLAIM_AND_START_TASK, 4);
const appendTaskLog = new LuaScript<number>(APPEND_LOG, 2);
const takeDueTasks = new LuaScript<string[]>(TAKE_DUE, 1);
/** Keyed by the outbox, the live index, then two keys per task. */
const persistedTasks = new LuaScript<number>(PERSISTED, 2);

export type OutboxKind = 'enqueue' | 'persist' | 'remove';

/** What a transition hands on, recorded in the same atomic step as the state change. */
export interface TransitionEffects {
  /** Applies only if the task is still on this attempt (a claim racing a recovery). */
  attempt?: number;
  /** The task leaves its org's backlog count (its first claim, or a cancel while waiting). */
  leaveBacklog?: boolean;
  /** The task is final: into the persist outbox. */
  persist?: boolean;
  /** Its run job must go: into the remove outbox. */
  removeRun?: boolean;
  /** Its run job exists (a worker has it): out of the enqueue outbox. */
  runJobExists?: boolean;
}

export class TaskConflictError extends ConflictError {
  constructor(readonly currentStatus: TaskStatus) {
    super(`task is already ${currentStatus}`);
    this.name = 'TaskConflictError';
  }
}

export class TaskMissingError extends Error {
  override name = 'TaskMissingError';
}

/** Fields to change on a task; null clears a field. */
export type TaskPatch = { [Field in keyof StoredTask]?: StoredTask[Field] | null };

/** A live task as stored, with the fields only the platform sees. */
export interface StoredTask extends TaskView {
  orgId: string;
  cancelRequested?: boolean;
}

/** A task (or patch) as the hash's field/JSON-text pairs; undefined fields are left out, null ones cleared. */
function toFieldPairs(fields: TaskPatch): string[] {
  return Object.entries(fields).flatMap(([field, value]) => (value === undefined ? [] : [field, JSON.stringify(value)]));
}

/** The task from the script's joined JSON; cleared (null) fields are dropped. */
function decodeTask(json: string): StoredTask {
  return Object.fromEntries(
    Object.entries(JSON.parse(json) as Record<string, unknown>).filter(([, value]) => value !== null),
  ) as unknown as StoredTask;
}

function fromHash(hash: Record<string, string>): StoredTask | undefined {
  if (!hash.status) return undefined;
  return Object.fromEntries(
    Object.entries(hash)
      .map(([field, json]) => [field, JSON.parse(json) as unknown])
      .filter(([, value]) => value !== null),
  ) as unknown as StoredTask;
}

/**
 * The task tier in Redis: live state of every task, its log chunks, the org's task
 * index, the org's task outboxes, and the org event stream each change is appended to
 * atomically. Only `TaskLifecycle` writes through it.
 */
@Injectable()
export class TaskStateStore {
  private readonly redis: Redis;
  /** Orgs this process already recorded in `taskOrgs`, so a create costs no extra round trip. */
  private readonly knownOrgs = new Set<string>();

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client;
  }

  /**
   * Stores a new task, its `task.updated` event and its enqueue-outbox entry. With an
   * idempotency key already used, stores nothing and returns the existing task's id instead.
   */
  async create(task: StoredTask): Promise<{ created: true; backlogRank: number } | { created: false; existingId: string }> {
    // Before the task exists, so the reconciler can never miss an org with outbox entries.
    if (!this.knownOrgs.has(task.orgId)) {
      await this.redis.sadd(this.keys.taskOrgs, task.orgId);
      this.knownOrgs.add(task.orgId);
    }
    const [outcome, value] = await createTask.run(
      this.redis,
      this.taskKey(task.orgId, task.id),
      this.keys.org(task.orgId, 'tasks'),
      this.keys.org(task.orgId, 'task-idempotency', task.idempotencyKey ?? ''),
      this.keys.orgEvents(task.orgId),
      this.keys.org(task.orgId, 'task-backlog'),
      this.keys.taskOutbox(task.orgId, 'enqueue'),
      task.id,
      Date.parse(task.createdAt),
      task.idempotencyKey ? IDEMPOTENCY_TTL_SECONDS : 0,
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.taskUpdated,
      Topic.task(task.id),
      task.createdAt,
      ...toFieldPairs(task),
    );
    return outcome === 'existing' ? { created: false, existingId: String(value) } : { created: true, backlogRank: Number(value) };
  }

  /** The live task, or undefined once it expired (or never was). */
  async get(orgId: string, taskId: string): Promise<StoredTask | undefined> {
    return fromHash(await this.redis.hgetall(this.taskKey(orgId, taskId)));
  }

  /** Live tasks by id, in the given order; ids whose task expired are left out. */
  async getMany(orgId: string, taskIds: string[]): Promise<StoredTask[]> {
    const pipeline = this.redis.pipeline();
    for (const id of taskIds) pipeline.hgetall(this.taskKey(orgId, id));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, hash]) => fromHash(hash as Record<string, string>)).filter((task): task is StoredTask => task !== undefined);
  }

  /**
   * Applies `patch` if the task's status is one of `from`, appending its event and
   * recording `effects`, all at once; throws TaskConflictError (with the current status)
   * otherwise, TaskMissingError if it is gone.
   */
  async transition(
    orgId: string,
    taskId: string,
    from: readonly TaskStatus[],
    patch: TaskPatch,
    effects: TransitionEffects = {},
  ): Promise<StoredTask> {
    const handoffs = `${effects.persist ? 'p' : ''}${effects.removeRun ? 'r' : ''}${effects.runJobExists ? 'e' : ''}`;
    const [outcome, value] = await transitionTask.run(
      this.redis,
      this.taskKey(orgId, taskId),
      this.keys.orgEvents(orgId),
      this.keys.org(orgId, 'task-backlog'),
      this.keys.taskOutbox(orgId, 'enqueue'),
      this.keys.taskOutbox(orgId, 'persist'),
      this.keys.taskOutbox(orgId, 'remove'),
      from.map((status) => JSON.stringify(status)).join('|'),
      effects.attempt === undefined ? '' : JSON.stringify(effects.attempt),
      effects.leaveBacklog ? '1' : '0',
      handoffs,
      Date.now(),
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.taskUpdated,
      Topic.task(taskId),
      new Date().toISOString(),
      taskId,
      this.keys.taskPersistChannel,
      orgId,
      ...toFieldPairs(patch),
    );
    if (outcome === 'missing') throw new TaskMissingError(`task ${taskId} is not live`);
    if (outcome === 'conflict') throw new TaskConflictError(JSON.parse(value!) as TaskStatus);
    return decodeTask(value!);
  }

  /**
   * QUEUED → CLAIMED → PROCESSING for `workerId` in one step, with both events, opening
   * an attempt started at `startedAt` (ISO); the task leaves the enqueue outbox, and its
   * org's backlog count on its first attempt. Throws TaskConflictError unless it was
   * QUEUED, TaskMissingError if it is gone.
   */
  async claimAndStart(orgId: string, taskId: string, workerId: string, startedAt: string): Promise<StoredTask> {
    const [outcome, value] = await claimAndStartTask.run(
      this.redis,
      this.taskKey(orgId, taskId),
      this.keys.orgEvents(orgId),
      this.keys.org(orgId, 'task-backlog'),
      this.keys.taskOutbox(orgId, 'enqueue'),
      JSON.stringify(workerId),
      JSON.stringify(startedAt),
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.taskUpdated,
      Topic.task(taskId),
      new Date().toISOString(),
      taskId,
    );
    if (outcome === 'missing') throw new TaskMissingError(`task ${taskId} is not live`);
    if (outcome === 'conflict') throw new TaskConflictError(JSON.parse(value!) as TaskStatus);
    return decodeTask(value!);
  }

  /** Appends one log chunk (and its `task.log` event); returns its sequence number. */
  appendLog(orgId: string, taskId: string, stream: LogStream, chunk: string): Promise<number> {
    const at = new Date().toISOString();
    return appendTaskLog.run(
      this.redis,
      this.logsKey(orgId, taskId),
      this.keys.orgEvents(orgId),
      taskId,
      stream,
      chunk,
      at,
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.taskLog,
      Topic.task(taskId),
    );
  }

  /** Log chunks with seq > `after`, oldest first, reading at most `scan` chunks. */
  async logs(orgId: string, taskId: string, after: number, scan: number): Promise<TaskLogChunk[]> {
    const raw = await this.redis.lrange(this.logsKey(orgId, taskId), after, after + scan - 1);
    return raw.map((json, index) => ({ seq: after + index + 1, ...(JSON.parse(json) as Omit<TaskLogChunk, 'seq'>) }));
  }

  /** Every log chunk of each task, in one round trip, for persisting them. */
  async allLogsOf(orgId: string, taskIds: string[]): Promise<TaskLogChunk[][]> {
    const pipeline = this.redis.pipeline();
    for (const id of taskIds) pipeline.lrange(this.logsKey(orgId, id), 0, -1);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, raw]) =>
      (raw as string[]).map((json, index) => ({ seq: index + 1, ...(JSON.parse(json) as Omit<TaskLogChunk, 'seq'>) })),
    );
  }

  /** Index entries of live tasks older than `before` (by creation time, then id), newest first. */
  async page(orgId: string, before: { ms: number; id: string } | undefined, count: number): Promise<{ id: string; ms: number }[]> {
    const max = before ? String(before.ms) : '+inf';
    // Entries with the cursor's own timestamp may precede it (same ms, lower id): ask for a few extra.
    const entries = await this.redis.zrevrangebyscore(
      this.keys.org(orgId, 'tasks'),
      max,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      count + SAME_MS_SLACK,
    );
    const page: { id: string; ms: number }[] = [];
    for (let i = 0; i < entries.length && page.length < count; i += 2) {
      const entry = { id: entries[i]!, ms: Number(entries[i + 1]) };
      if (before && entry.ms === before.ms && entry.id >= before.id) continue;
      page.push(entry);
    }
    return page;
  }

  /** Drops index entries whose task expired. */
  async forget(orgId: string, taskIds: string[]): Promise<void> {
    if (taskIds.length) await this.redis.zrem(this.keys.org(orgId, 'tasks'), ...taskIds);
  }

  /** A hand-off is done: the task leaves that outbox. */
  async clearOutbox(orgId: string, kind: OutboxKind, taskIds: string[]): Promise<void> {
    if (taskIds.length) await this.redis.zrem(this.keys.taskOutbox(orgId, kind), ...taskIds);
  }

  /**
   * Hand-offs done for tasks of many orgs: each leaves that outbox of its org, one command
   * per org. They go out with whatever else this tick sends on the shared connection
   * (auto-pipelined), not as a pipeline of their own: that would cost a write of its own.
   */
  async clearOutboxes(kind: OutboxKind, tasks: { orgId: string; taskId: string }[]): Promise<void> {
    const byOrg = new Map<string, string[]>();
    for (const { orgId, taskId } of tasks) {
      const ids = byOrg.get(orgId);
      if (ids) ids.push(taskId);
      else byOrg.set(orgId, [taskId]);
    }
    await Promise.all([...byOrg].map(([orgId, ids]) => this.redis.zrem(this.keys.taskOutbox(orgId, kind), ...ids)));
  }

  /** Up to `limit` entries of the outbox due at `dueBy` (ms), hidden from other takers until `hideUntil`. */
  takeDue(orgId: string, kind: OutboxKind, dueBy: number, hideUntil: number, limit: number): Promise<string[]> {
    return takeDueTasks.run(this.redis, this.keys.taskOutbox(orgId, kind), dueBy, hideUntil, limit);
  }

  /** Makes the entries due again at `at` (ms), if they are still in the outbox. */
  async reschedule(orgId: string, kind: OutboxKind, taskIds: string[], at: number): Promise<void> {
    if (taskIds.length) await this.redis.zadd(this.keys.taskOutbox(orgId, kind), 'XX', ...taskIds.flatMap((id) => [at, id]));
  }

  /** How many entries each outbox of the org holds. */
  async outboxSizes(orgId: string): Promise<Record<OutboxKind, number>> {
    const [enqueue, persist, remove] = await Promise.all(
      (['enqueue', 'persist', 'remove'] as const).map((kind) => this.redis.zcard(this.keys.taskOutbox(orgId, kind))),
    );
    return { enqueue: enqueue!, persist: persist!, remove: remove! };
  }

  /** How many entries the outbox holds and the due time (ms) of the earliest. */
  async outboxLoad(orgId: string, kind: OutboxKind): Promise<{ size: number; oldestDue?: number }> {
    const key = this.keys.taskOutbox(orgId, kind);
    const [size, first] = await Promise.all([
      this.redis.zcard(key),
      this.redis.zrangebyscore(key, '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
    ]);
    return { size, ...(first[1] === undefined ? {} : { oldestDue: Number(first[1]) }) };
  }

  /**
   * After the history is in Postgres: out of the persist outbox and the live index (a list
   * then reads them from the history alone, not from both tiers); the live keys expire after
   * TASK_RETENTION_SECONDS.
   */
  async persisted(orgId: string, taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await persistedTasks.runWithKeys(
      this.redis,
      [
        this.keys.taskOutbox(orgId, 'persist'),
        this.keys.org(orgId, 'tasks'),
        ...taskIds.flatMap((id) => [this.taskKey(orgId, id), this.logsKey(orgId, id)]),
      ],
      this.config.TASK_RETENTION_SECONDS,
      ...taskIds,
    );
  }

  /** Every org that ever had a task here. */
  orgsWithTasks(): Promise<string[]> {
    return this.redis.smembers(this.keys.taskOrgs);
  }

  private taskKey(orgId: string, taskId: string): string {
    return this.keys.org(orgId, 'task', taskId);
  }

  private logsKey(orgId: string, taskId: string): string {
    return this.keys.org(orgId, 'task', taskId, 'logs');
  }
}
