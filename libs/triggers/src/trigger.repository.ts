import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { TaskClass } from '#libs/contracts';
import { holdCountQuota, OrgDatabase, type CountQuota, type OrgClaims } from '#libs/registry';

export const TRIGGER_EVENTS = ['INSERT', 'UPDATE', 'DELETE'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export interface Trigger {
  id: string;
  name: string;
  table: string;
  events: TriggerEvent[];
  /** Column equalities the changed row must match (the new row; the old one for DELETE). */
  filter: Record<string, unknown>;
  task: { type: string; params: Record<string, unknown>; class: TaskClass };
  enabled: boolean;
  createdAt: string;
}

export interface TriggerRun {
  /** Null when the change made no task: `error` says why. */
  taskId: string | null;
  eventType: TriggerEvent;
  createdAt: string;
  error?: string;
}

interface TriggerRow extends pg.QueryResultRow {
  id: string;
  name: string;
  table_name: string;
  events: TriggerEvent[];
  filter: Record<string, unknown>;
  task: Trigger['task'];
  enabled: boolean;
  created_at: Date;
}

const toTrigger = (row: TriggerRow): Trigger => ({
  id: row.id,
  name: row.name,
  table: row.table_name,
  events: row.events,
  filter: row.filter,
  task: row.task,
  enabled: row.enabled,
  createdAt: row.created_at.toISOString(),
});

/** SQL of the org database's `triggers` and `trigger_runs`. */
@Injectable()
export class TriggerRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /** Inserts the trigger unless the org already has `quota.max` of them. */
  async insert(claims: OrgClaims, trigger: Omit<Trigger, 'createdAt' | 'enabled'>, quota: Omit<CountQuota, 'table'>): Promise<Trigger> {
    const { rows } = await this.orgDatabase.asCaller(claims, async (client) => {
      await holdCountQuota(client, { ...quota, table: 'triggers' });
      return client.query<TriggerRow>(
        'INSERT INTO triggers (id, name, table_name, events, filter, task) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [trigger.id, trigger.name, trigger.table, trigger.events, JSON.stringify(trigger.filter), JSON.stringify(trigger.task)],
      );
    });
    return toTrigger(rows[0]!);
  }

  /** True when `table` exists in the org database and is published to the realtime relay. */
  async isPublished(claims: OrgClaims, table: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query(`SELECT 1 FROM pg_publication_tables WHERE pubname = 'platform_realtime' AND schemaname = 'public' AND tablename = $1`, [
        table,
      ]),
    );
    return rowCount === 1;
  }

  async list(claims: OrgClaims): Promise<Trigger[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<TriggerRow>('SELECT * FROM triggers ORDER BY created_at'),
    );
    return rows.map(toTrigger);
  }

  async find(claims: OrgClaims, id: string): Promise<Trigger | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<TriggerRow>('SELECT * FROM triggers WHERE id = $1', [id]),
    );
    return rows[0] && toTrigger(rows[0]);
  }

  async setEnabled(claims: OrgClaims, id: string, enabled: boolean): Promise<Trigger | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<TriggerRow>('UPDATE triggers SET enabled = $2 WHERE id = $1 RETURNING *', [id, enabled]),
    );
    return rows[0] && toTrigger(rows[0]);
  }

  async delete(claims: OrgClaims, id: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) => client.query('DELETE FROM triggers WHERE id = $1', [id]));
    return rowCount === 1;
  }

  async runs(claims: OrgClaims, id: string, limit: number): Promise<TriggerRun[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<{ task_id: string | null; event_type: TriggerEvent; created_at: Date; error: string | null }>(
        'SELECT task_id, event_type, created_at, error FROM trigger_runs WHERE trigger_id = $1 ORDER BY created_at DESC LIMIT $2',
        [id, limit],
      ),
    );
    return rows.map((row) => ({
      taskId: row.task_id,
      eventType: row.event_type,
      createdAt: row.created_at.toISOString(),
      ...(row.error === null ? {} : { error: row.error }),
    }));
  }

  /** The org's enabled triggers, for matching changes (the platform's own read). */
  async listEnabled(orgId: string): Promise<Trigger[]> {
    const { rows } = await this.orgDatabase.asService(orgId, (client) => client.query<TriggerRow>('SELECT * FROM triggers WHERE enabled'));
    return rows.map(toTrigger);
  }

  /** Records a firing (its task, or why it made none); a change already recorded for the trigger changes nothing. */
  async recordRun(
    orgId: string,
    run: { triggerId: string; changeKey: string; eventType: TriggerEvent } & ({ taskId: string } | { taskId: null; error: string }),
  ): Promise<void> {
    await this.orgDatabase.asService(orgId, (client) =>
      client.query(
        'INSERT INTO trigger_runs (trigger_id, change_key, task_id, event_type, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [run.triggerId, run.changeKey, run.taskId, run.eventType, 'error' in run ? run.error : null],
      ),
    );
  }
}
