import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { LogStream, TaskAttempt, TaskClass, TaskLogChunk, TaskStats, TaskStatsMinute, TaskStatus, TaskView } from '#libs/contracts';
import { OrgDatabase, type OrgClaims } from '#libs/registry';

interface TaskRow extends pg.QueryResultRow {
  id: string;
  type: string;
  status: TaskStatus;
  params: Record<string, unknown>;
  class: TaskClass;
  priority: number;
  attempt: number;
  max_attempts: number;
  timeout_ms: number;
  progress: number | null;
  result: unknown;
  error: string | null;
  worker_id: string | null;
  idempotency_key: string | null;
  schedule_id: string | null;
  rerun_of: string | null;
  trigger: TaskView['trigger'] | null;
  resources: TaskView['resources'] | null;
  secrets: string[] | null;
  run_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  attempts: TaskAttempt[] | null;
}

const SELECT_TASK = `
  SELECT t.*, (SELECT coalesce(json_agg(json_build_object(
            'attempt', a.attempt, 'workerId', a.worker_id, 'status', a.status, 'error', a.error,
            'startedAt', a.started_at, 'finishedAt', a.finished_at) ORDER BY a.attempt), '[]')
          FROM task_attempts a WHERE a.task_id = t.id) AS attempts
    FROM tasks t`;

/** json_build_object gives Postgres' timestamp text; answer ISO like the live tier does. */
function toAttempt(raw: TaskAttempt): TaskAttempt {
  const attempt: TaskAttempt = { attempt: raw.attempt, workerId: raw.workerId, startedAt: new Date(raw.startedAt).toISOString() };
  if (raw.finishedAt) attempt.finishedAt = new Date(raw.finishedAt).toISOString();
  if (raw.status) attempt.status = raw.status;
  if (raw.error) attempt.error = raw.error;
  return attempt;
}

function toView(row: TaskRow): TaskView {
  const view: TaskView = {
    id: row.id,
    type: row.type,
    status: row.status,
    params: row.params,
    class: row.class,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    attempts: (row.attempts ?? []).map(toAttempt),
    createdAt: row.created_at.toISOString(),
  };
  if (row.progress !== null) view.progress = row.progress;
  if (row.result !== null) view.result = row.result;
  if (row.error !== null) view.error = row.error;
  if (row.worker_id !== null) view.workerId = row.worker_id;
  if (row.idempotency_key !== null) view.idempotencyKey = row.idempotency_key;
  if (row.schedule_id !== null) view.scheduleId = row.schedule_id;
  if (row.rerun_of !== null) view.rerunOf = row.rerun_of;
  if (row.trigger !== null) view.trigger = row.trigger;
  if (row.resources !== null) view.resources = row.resources;
  if (row.secrets !== null) view.secrets = row.secrets;
  if (row.run_at) view.runAt = row.run_at.toISOString();
  if (row.started_at) view.startedAt = row.started_at.toISOString();
  if (row.finished_at) view.finishedAt = row.finished_at.toISOString();
  return view;
}

/** A finished task and every chunk of its output, as the history writes them. */
export interface FinishedTask {
  task: TaskView;
  logs: TaskLogChunk[];
}

export interface TaskListFilter {
  status?: TaskStatus;
  type?: string;
  scheduleId?: string;
  before?: { createdAt: string; id: string };
  limit: number;
}

/** Finished tasks in the org's own database: written once by the platform, read under the caller's RLS claims. */
@Injectable()
export class TaskHistoryRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /**
   * Writes finished tasks of one org with their attempts and logs in one transaction, each
   * table by one multi-row insert, sent as one round trip; writing a task again changes
   * nothing (exactly one row per task, and per idempotency key).
   */
  async persistMany(orgId: string, batch: FinishedTask[]): Promise<void> {
    if (batch.length === 0) return;
    const tasks = batch.map(({ task }) => ({
      id: task.id,
      type: task.type,
      status: task.status,
      params: task.params,
      priority: task.priority,
      attempt: task.attempt,
      max_attempts: task.maxAttempts,
      timeout_ms: task.timeoutMs,
      progress: task.progress ?? null,
      result: task.result === undefined ? null : task.result,
      error: task.error ?? null,
      worker_id: task.workerId ?? null,
      idempotency_key: task.idempotencyKey ?? null,
      created_at: task.createdAt,
      started_at: task.startedAt ?? null,
      finished_at: task.finishedAt ?? null,
      class: task.class,
      schedule_id: task.scheduleId ?? null,
      rerun_of: task.rerunOf ?? null,
      run_at: task.runAt ?? null,
      trigger: task.trigger ?? null,
      resources: task.resources ?? null,
      secrets: task.secrets ?? null,
    }));
    const attempts = batch.flatMap(({ task }) =>
      task.attempts.map((attempt) => ({
        task_id: task.id,
        attempt: attempt.attempt,
        worker_id: attempt.workerId,
        status: attempt.status ?? null,
        error: attempt.error ?? null,
        started_at: attempt.startedAt,
        finished_at: attempt.finishedAt ?? null,
      })),
    );
    const logs = batch.flatMap(({ task, logs }) => logs.map((log) => ({ task_id: task.id, ...log })));
    // The whole transaction in one round trip: each table's rows go as one escaped JSON literal.
    await this.orgDatabase.asServiceInOneTrip(orgId, (literal) =>
      [
        // JSON null in a jsonb column is stored as SQL NULL, as the single-row write did.
        `INSERT INTO tasks (id, type, status, params, priority, attempt, max_attempts, timeout_ms, progress, result, error,
                            worker_id, idempotency_key, created_at, started_at, finished_at, class, schedule_id, run_at, trigger, resources, secrets, rerun_of)
         SELECT id, type, status, params, priority, attempt, max_attempts, timeout_ms, progress, nullif(result, 'null'), error,
                worker_id, idempotency_key, created_at, started_at, finished_at, class, schedule_id, run_at,
                nullif(trigger, 'null'), nullif(resources, 'null'), secrets, rerun_of
           FROM jsonb_to_recordset(${literal(JSON.stringify(tasks))}::jsonb) AS t(id uuid, type text, status text, params jsonb, priority int, attempt int,
                max_attempts int, timeout_ms int, progress real, result jsonb, error text, worker_id text, idempotency_key text,
                created_at timestamptz, started_at timestamptz, finished_at timestamptz, class text, schedule_id uuid,
                run_at timestamptz, trigger jsonb, resources jsonb, secrets text[], rerun_of uuid)
         ON CONFLICT DO NOTHING`,
        ...(attempts.length > 0
          ? [
              `INSERT INTO task_attempts (task_id, attempt, worker_id, status, error, started_at, finished_at)
               SELECT a.* FROM jsonb_to_recordset(${literal(JSON.stringify(attempts))}::jsonb) AS a(task_id uuid, attempt int, worker_id text,
                      status text, error text, started_at timestamptz, finished_at timestamptz)
                WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = a.task_id)
               ON CONFLICT DO NOTHING`,
            ]
          : []),
        ...(logs.length > 0
          ? [
              `INSERT INTO task_logs (task_id, seq, stream, chunk, at)
               SELECT l.* FROM jsonb_to_recordset(${literal(JSON.stringify(logs))}::jsonb) AS l(task_id uuid, seq int, stream text, chunk text,
                      at timestamptz)
                WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = l.task_id)
               ON CONFLICT DO NOTHING`,
            ]
          : []),
      ].join(';\n'),
    );
  }

  async find(claims: OrgClaims, taskId: string): Promise<TaskView | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) => client.query<TaskRow>(`${SELECT_TASK} WHERE t.id = $1`, [taskId]));
    return rows[0] && toView(rows[0]);
  }

  /**
   * Per-minute figures of the tasks finished in the last `minutes` minutes, in one query:
   * counts by final status, run-time percentiles, and how many of them waited at each
   * minute's end (created minus started, summed up to the minute, so one pass over the
   * tasks). Tasks still live (not yet in history) are not counted.
   */
  async stats(
    claims: OrgClaims,
    minutes: number,
    type: string | undefined,
  ): Promise<{ to: string; minutes: TaskStatsMinute[]; counts: TaskStats['counts'] }> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<{
        minute: Date;
        now: Date;
        finished: number;
        succeeded: number;
        failed: number;
        cancelled: number;
        waiting: number;
        p50: number | null;
        p95: number | null;
        p99: number | null;
      }>(
        `WITH minutes AS (
           SELECT generate_series(date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute', date_trunc('minute', now()),
                                  interval '1 minute') AS minute
         ), recent AS (
           SELECT date_trunc('minute', finished_at) AS minute, status,
                  extract(epoch FROM finished_at - started_at) * 1000 AS duration_ms,
                  -- Waiting at the end of minute m: created by then, not yet started (or finished, if it never started).
                  greatest(date_trunc('minute', created_at), (SELECT min(minute) FROM minutes)) AS created_minute,
                  greatest(date_trunc('minute', coalesce(started_at, finished_at)), (SELECT min(minute) FROM minutes)) AS stopped_minute
             FROM tasks
            WHERE finished_at >= (SELECT min(minute) FROM minutes)
              AND ($2::text IS NULL OR type = $2)
         ), finished AS (
           SELECT m.minute,
                  count(r.status)::int AS finished,
                  count(*) FILTER (WHERE r.status = 'SUCCESS')::int AS succeeded,
                  count(*) FILTER (WHERE r.status = 'FAILED')::int AS failed,
                  count(*) FILTER (WHERE r.status = 'CANCELLED')::int AS cancelled,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms) AS p50,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms) AS p95,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY r.duration_ms) AS p99
             FROM minutes m LEFT JOIN recent r ON r.minute = m.minute
            GROUP BY m.minute
         ), created AS (
           SELECT created_minute AS minute, count(*) AS n FROM recent GROUP BY 1
         ), stopped AS (
           SELECT stopped_minute AS minute, count(*) AS n FROM recent GROUP BY 1
         )
         SELECT f.*, now() AS now,
                (sum(coalesce(c.n, 0)) OVER running - sum(coalesce(s.n, 0)) OVER running)::int AS waiting
           FROM finished f LEFT JOIN created c USING (minute) LEFT JOIN stopped s USING (minute)
         WINDOW running AS (ORDER BY f.minute)
          ORDER BY f.minute`,
        [minutes, type ?? null],
      ),
    );
    const round = (value: number | null) => (value === null ? null : Math.round(value));
    const counts: TaskStats['counts'] = { SUCCESS: 0, FAILED: 0, CANCELLED: 0 };
    for (const row of rows) {
      counts.SUCCESS! += row.succeeded;
      counts.FAILED! += row.failed;
      counts.CANCELLED! += row.cancelled;
    }
    return {
      to: (rows[0]?.now ?? new Date()).toISOString(),
      counts,
      minutes: rows.map((row) => ({
        at: row.minute.toISOString(),
        finished: row.finished,
        succeeded: row.succeeded,
        failed: row.failed,
        cancelled: row.cancelled,
        waiting: row.waiting,
        p50Ms: round(row.p50),
        p95Ms: round(row.p95),
        p99Ms: round(row.p99),
      })),
    };
  }

  /** The task id an idempotency key was used for, once Redis forgot it. */
  async findIdByIdempotencyKey(claims: OrgClaims, key: string): Promise<string | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<{ id: string }>('SELECT id FROM tasks WHERE idempotency_key = $1', [key]),
    );
    return rows[0]?.id;
  }

  /** Newest first, after the cursor, filtered. */
  async list(claims: OrgClaims, filter: TaskListFilter): Promise<TaskView[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.status) conditions.push(`t.status = $${params.push(filter.status)}`);
    if (filter.type) conditions.push(`t.type = $${params.push(filter.type)}`);
    if (filter.scheduleId) conditions.push(`t.schedule_id = $${params.push(filter.scheduleId)}`);
    if (filter.before) {
      conditions.push(
        `(t.created_at, t.id) < ($${params.push(filter.before.createdAt)}::timestamptz, $${params.push(filter.before.id)}::uuid)`,
      );
    }
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<TaskRow>(`${SELECT_TASK} ${where} ORDER BY t.created_at DESC, t.id DESC LIMIT $${params.push(filter.limit)}`, params),
    );
    return rows.map(toView);
  }

  /** Log chunks with seq > `after`, optionally of one stream and containing `q` (case-insensitive). */
  async logs(
    claims: OrgClaims,
    taskId: string,
    query: { after: number; limit: number; stream?: LogStream; q?: string },
  ): Promise<TaskLogChunk[]> {
    const params: unknown[] = [taskId, query.after];
    let where = 'task_id = $1 AND seq > $2';
    if (query.stream) where += ` AND stream = $${params.push(query.stream)}`;
    if (query.q) where += ` AND strpos(lower(chunk), lower($${params.push(query.q)})) > 0`;
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<{ seq: number; stream: LogStream; chunk: string; at: Date }>(
        `SELECT seq, stream, chunk, at FROM task_logs WHERE ${where} ORDER BY seq LIMIT $${params.push(query.limit)}`,
        params,
      ),
    );
    return rows.map((row) => ({ seq: row.seq, stream: row.stream, chunk: row.chunk, at: row.at.toISOString() }));
  }
}
