import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { TaskClass } from '#libs/contracts';
import { holdCountQuota, OrgDatabase, type CountQuota, type OrgClaims } from '#libs/registry';

/** The task a schedule creates at each tick. */
export interface ScheduledTask {
  type: string;
  params: Record<string, unknown>;
  class: TaskClass;
}

export interface Schedule {
  id: string;
  name: string;
  cron?: string;
  everyMs?: number;
  timezone?: string;
  task: ScheduledTask;
  paused: boolean;
  createdAt: string;
}

interface ScheduleRow extends pg.QueryResultRow {
  id: string;
  name: string;
  cron: string | null;
  every_ms: number | null;
  timezone: string | null;
  task: ScheduledTask;
  paused: boolean;
  created_at: Date;
}

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    ...(row.cron ? { cron: row.cron } : {}),
    ...(row.every_ms ? { everyMs: row.every_ms } : {}),
    ...(row.timezone ? { timezone: row.timezone } : {}),
    task: row.task,
    paused: row.paused,
    createdAt: row.created_at.toISOString(),
  };
}

/** SQL of the org database's `schedules` table: callers' reads and writes under their RLS claims. */
@Injectable()
export class ScheduleRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /** Inserts the schedule unless the org already has `quota.max` of them. */
  async insert(claims: OrgClaims, schedule: Omit<Schedule, 'createdAt' | 'paused'>, quota: Omit<CountQuota, 'table'>): Promise<Schedule> {
    const { rows } = await this.orgDatabase.asCaller(claims, async (client) => {
      await holdCountQuota(client, { ...quota, table: 'schedules' });
      return client.query<ScheduleRow>(
        `INSERT INTO schedules (id, name, cron, every_ms, timezone, task) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          schedule.id,
          schedule.name,
          schedule.cron ?? null,
          schedule.everyMs ?? null,
          schedule.timezone ?? null,
          JSON.stringify(schedule.task),
        ],
      );
    });
    return toSchedule(rows[0]!);
  }

  async list(claims: OrgClaims): Promise<Schedule[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<ScheduleRow>('SELECT * FROM schedules ORDER BY created_at'),
    );
    return rows.map(toSchedule);
  }

  async find(claims: OrgClaims, id: string): Promise<Schedule | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<ScheduleRow>('SELECT * FROM schedules WHERE id = $1', [id]),
    );
    return rows[0] && toSchedule(rows[0]);
  }

  async setPaused(claims: OrgClaims, id: string, paused: boolean): Promise<Schedule | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<ScheduleRow>('UPDATE schedules SET paused = $2 WHERE id = $1 RETURNING *', [id, paused]),
    );
    return rows[0] && toSchedule(rows[0]);
  }

  async delete(claims: OrgClaims, id: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) => client.query('DELETE FROM schedules WHERE id = $1', [id]));
    return rowCount === 1;
  }

  /** The schedule as the platform sees it (no caller), for a tick. */
  async findForTick(orgId: string, id: string): Promise<Schedule | undefined> {
    const { rows } = await this.orgDatabase.asService(orgId, (client) =>
      client.query<ScheduleRow>('SELECT * FROM schedules WHERE id = $1', [id]),
    );
    return rows[0] && toSchedule(rows[0]);
  }

  /** Every running (not paused) schedule of the org, to re-register after Redis lost them. */
  async listActive(orgId: string): Promise<Schedule[]> {
    const { rows } = await this.orgDatabase.asService(orgId, (client) =>
      client.query<ScheduleRow>('SELECT * FROM schedules WHERE NOT paused'),
    );
    return rows.map(toSchedule);
  }
}
