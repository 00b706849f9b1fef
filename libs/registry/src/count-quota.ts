import type pg from 'pg';
import { LimitExceededError } from '#libs/contracts';

/** A cap on the rows of one platform table of an org database. */
export interface CountQuota {
  /** The platform table counted (a constant of the caller, never input). */
  table: string;
  /** The most rows allowed. */
  max: number;
  /** The setting that sets `max`, named in the refusal. */
  setting: string;
  /** What the rows are, for the refusal's message ("schedules"). */
  what: string;
}

/**
 * Inside the transaction of an insert into `quota.table`: waits for the table's quota
 * lock (held to the end of the transaction, so concurrent inserts count one at a time
 * and none slips past the cap), then throws LimitExceededError when the table is full.
 */
export async function holdCountQuota(client: pg.ClientBase, quota: CountQuota): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`quota:${quota.table}`]);
  const { rows } = await client.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${quota.table}`);
  if (rows[0]!.count >= quota.max) {
    throw new LimitExceededError(quota.setting, `the organization has ${quota.max} ${quota.what}, the most ${quota.setting} allows`);
  }
}
