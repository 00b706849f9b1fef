import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import {
  TERMINAL_TASK_STATUSES,
  type LogStream,
  type TaskClass,
  type TaskResourceRequest,
  type TaskLogChunk,
  type TaskStats,
  type TaskStatsWindow,
  type TaskStatus,
  type TaskView,
  InvalidInputError,
  NotFoundError,
} from '#libs/contracts';
import type { OrgClaims } from '#libs/registry';
import { TaskHistoryRepository } from './task-history.repository.js';
import { TaskLifecycle } from './task-lifecycle.js';
import { TaskConflictError, TaskStateStore, type StoredTask } from './task-state.store.js';
import { TaskTypeCatalog } from './task-types/task-type-catalog.js';

export class TaskNotFoundError extends NotFoundError {
  override name = 'TaskNotFoundError';
}

export interface NewTask {
  type: string;
  params?: Record<string, unknown>;
  class?: TaskClass;
  priority?: number;
  /** Run no earlier than this ISO time (the task is SCHEDULED until then). */
  runAt?: string;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Set by the platform for tasks a schedule creates. */
  scheduleId?: string;
  /** Set by the platform for tasks a change trigger creates. */
  trigger?: TaskView['trigger'];
  /** The task this one re-runs, in the same org. */
  rerunOf?: string;
  timeoutMs?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
  resources?: TaskResourceRequest[];
  /** Org secrets (by name) the worker gives the task as environment variables. */
  secrets?: string[];
}

export interface TaskListQuery {
  status?: TaskStatus;
  type?: string;
  scheduleId?: string;
  limit: number;
  cursor?: string;
}

export interface TaskLogQuery {
  after: number;
  limit: number;
  stream?: LogStream;
  q?: string;
}

const STATS_WINDOW_MINUTES: Record<TaskStatsWindow, number> = { '15m': 15, '1h': 60, '6h': 360, '24h': 1440 };

/** Priority of a task that gives none (1 most urgent … 10). */
export const DEFAULT_TASK_PRIORITY = 5;
export const DEFAULT_TASK_CLASS: TaskClass = 'normal';
/** Live index entries read per round when listing tasks. */
const LIVE_PAGE = 200;
/** How many log chunks a filtered read of live logs scans at most per request. */
const LIVE_LOG_SCAN = 5000;

/** A page cursor: the (createdAt, id) of the last task of the page, opaque to clients. */
function encodeCursor(task: TaskView): string {
  return Buffer.from(JSON.stringify([task.createdAt, task.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    return typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt)) ? { createdAt, id } : undefined;
  } catch {
    return undefined;
  }
}

export class InvalidCursorError extends InvalidInputError {
  override name = 'InvalidCursorError';
}

/** The client's view of a live task, fields in the documented order. */
function toView(task: StoredTask): TaskView {
  const view: TaskView = {
    id: task.id,
    type: task.type,
    status: task.status,
    params: task.params,
    class: task.class,
    priority: task.priority,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    timeoutMs: task.timeoutMs,
    attempts: task.attempts ?? [],
    createdAt: task.createdAt,
  };
  for (const field of [
    'progress',
    'result',
    'error',
    'workerId',
    'idempotencyKey',
    'scheduleId',
    'rerunOf',
    'trigger',
    'resources',
    'secrets',
    'runAt',
    'startedAt',
    'finishedAt',
  ] as const) {
    if (task[field] !== undefined) Object.assign(view, { [field]: task[field] });
  }
  return view;
}

const newestFirst = (a: TaskView, b: TaskView) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/**
 * The tasks domain as the API uses it. Reads merge the tiers: a task is answered from
 * Redis while it is live and from its org database after, the same shape either way.
 */
@Injectable()
export class TaskService {
  constructor(
    private readonly store: TaskStateStore,
    private readonly lifecycle: TaskLifecycle,
    private readonly history: TaskHistoryRepository,
    private readonly catalog: TaskTypeCatalog,
    private readonly config: PlatformConfig,
  ) {}

  /** Validates, stores as QUEUED and enqueues; an idempotency key already used returns that task instead. */
  async create(claims: OrgClaims, input: NewTask): Promise<{ task: TaskView; created: boolean }> {
    const params = { ...this.catalog.validate(input.type, input.params ?? {}) } as Record<string, unknown>;
    if (input.rerunOf && !(await this.exists(claims, input.rerunOf))) throw new InvalidInputError([`rerunOf: no task ${input.rerunOf}`]);
    if (input.idempotencyKey) {
      const earlier = await this.history.findIdByIdempotencyKey(claims, input.idempotencyKey);
      if (earlier) return { task: await this.get(claims, earlier), created: false };
    }
    const now = Date.now();
    const dueAt = input.runAt !== undefined ? Date.parse(input.runAt) : input.delayMs !== undefined ? now + input.delayMs : undefined;
    const delayMs = dueAt === undefined ? 0 : Math.max(0, dueAt - now);
    const task: StoredTask = {
      id: randomUUID(),
      orgId: claims.org_id,
      type: input.type,
      status: delayMs > 0 ? 'SCHEDULED' : 'QUEUED',
      params,
      class: input.class ?? DEFAULT_TASK_CLASS,
      priority: input.priority ?? DEFAULT_TASK_PRIORITY,
      attempt: 1,
      maxAttempts: input.maxAttempts ?? this.config.TASK_DEFAULT_MAX_ATTEMPTS,
      timeoutMs: input.timeoutMs ?? this.config.TASK_DEFAULT_TIMEOUT_MS,
      attempts: [],
      createdAt: new Date(now).toISOString(),
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      ...(input.scheduleId ? { scheduleId: input.scheduleId } : {}),
      ...(input.trigger ? { trigger: input.trigger } : {}),
      ...(input.rerunOf ? { rerunOf: input.rerunOf } : {}),
      ...(delayMs > 0 ? { runAt: new Date(dueAt!).toISOString() } : {}),
      ...(input.resources?.length ? { resources: input.resources.map(({ pool }) => ({ pool })) } : {}),
      ...(input.secrets?.length ? { secrets: [...input.secrets] } : {}),
    };
    const stored = await this.lifecycle.create(task, delayMs);
    if (!stored.created) return { task: await this.get(claims, stored.existingId), created: false };
    return { task: toView(task), created: true };
  }

  /** The task from whichever tier has it; TaskNotFoundError for unknown ids and other orgs' ids alike. */
  async get(claims: OrgClaims, taskId: string): Promise<TaskView> {
    const live = await this.store.get(claims.org_id, taskId);
    if (live) return toView(live);
    const finished = await this.history.find(claims, taskId);
    if (!finished) throw new TaskNotFoundError(`no task ${taskId}`);
    return finished;
  }

  private async exists(claims: OrgClaims, taskId: string): Promise<boolean> {
    return (await this.store.get(claims.org_id, taskId)) !== undefined || (await this.history.find(claims, taskId)) !== undefined;
  }

  /** Newest first, live and finished alike, with a cursor to the next page. */
  async list(claims: OrgClaims, query: TaskListQuery): Promise<{ items: TaskView[]; nextCursor: string | null }> {
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !before) throw new InvalidCursorError(['cursor is not one this API gave out']);
    const matches = (task: TaskView) =>
      (!query.status || task.status === query.status) &&
      (!query.type || task.type === query.type) &&
      (!query.scheduleId || task.scheduleId === query.scheduleId);

    const live: TaskView[] = [];
    let liveBefore = before && { ms: Date.parse(before.createdAt), id: before.id };
    const filtered = query.status !== undefined || query.type !== undefined || query.scheduleId !== undefined;
    // The live tier is bounded by retention: page through its index until enough tasks match.
    // Unfiltered, every live task matches, so exactly the one past the page is read beyond it, not another page.
    while (live.length <= query.limit) {
      const count = filtered ? LIVE_PAGE : Math.min(LIVE_PAGE, query.limit + 1 - live.length);
      const page = await this.store.page(claims.org_id, liveBefore, count);
      if (page.length === 0) break;
      const tasks = await this.store.getMany(
        claims.org_id,
        page.map((entry) => entry.id),
      );
      const found = new Set(tasks.map((task) => task.id));
      await this.store.forget(
        claims.org_id,
        page.filter((entry) => !found.has(entry.id)).map((entry) => entry.id),
      );
      live.push(...tasks.map(toView).filter(matches));
      if (page.length < count) break;
      liveBefore = page.at(-1);
    }
    const finished = await this.history.list(claims, {
      status: query.status,
      type: query.type,
      scheduleId: query.scheduleId,
      before,
      limit: query.limit + 1,
    });

    const byId = new Map<string, TaskView>();
    for (const task of [...finished, ...live]) byId.set(task.id, task);
    const merged = [...byId.values()].sort(newestFirst);
    const items = merged.slice(0, query.limit);
    return { items, nextCursor: merged.length > query.limit ? encodeCursor(items.at(-1)!) : null };
  }

  /** Per-minute figures and counts per final status of the tasks finished within the window, from the org's task history. */
  async stats(claims: OrgClaims, window: TaskStatsWindow, type?: string): Promise<TaskStats> {
    const minutes = STATS_WINDOW_MINUTES[window];
    const figures = await this.history.stats(claims, minutes, type);
    return { window, from: figures.minutes[0]?.at ?? figures.to, ...figures };
  }

  /** Log chunks after `after`, filtered, the same whether the task is live or finished. */
  async logs(claims: OrgClaims, taskId: string, query: TaskLogQuery): Promise<{ items: TaskLogChunk[]; next: number | null }> {
    const live = await this.store.get(claims.org_id, taskId);
    let items: TaskLogChunk[];
    if (live) {
      const needle = query.q?.toLowerCase();
      items = (await this.store.logs(claims.org_id, taskId, query.after, LIVE_LOG_SCAN))
        .filter((log) => (!query.stream || log.stream === query.stream) && (!needle || log.chunk.toLowerCase().includes(needle)))
        .slice(0, query.limit);
    } else {
      if (!(await this.history.find(claims, taskId))) throw new TaskNotFoundError(`no task ${taskId}`);
      items = await this.history.logs(claims, taskId, query);
    }
    return { items, next: items.length === query.limit ? items.at(-1)!.seq : null };
  }

  /**
   * Cancels a task: a waiting one at once; a running one by telling its worker, which
   * stops it (SIGTERM, then SIGKILL for shell tasks). A finished task is a conflict.
   */
  async cancel(claims: OrgClaims, taskId: string): Promise<TaskView> {
    const task = await this.get(claims, taskId);
    if (TERMINAL_TASK_STATUSES.includes(task.status)) throw new TaskConflictError(task.status);
    return toView(await this.lifecycle.cancel(claims.org_id, taskId));
  }
}
