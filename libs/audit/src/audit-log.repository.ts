import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { InvalidInputError } from '#libs/contracts';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit-entry.js';

interface AuditRow extends pg.QueryResultRow {
  id: string;
  at: Date;
  actor_kind: AuditRecord['actor']['kind'];
  actor_id: string | null;
  actor_name: string | null;
  actor_role: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  request_id: string | null;
  source_ip: string | null;
  outcome: AuditRecord['outcome'];
}

const COLUMNS = 'id, at, actor_kind, actor_id, actor_name, actor_role, action, target_type, target_id, request_id, source_ip, outcome';
const CURSOR = /^\d{1,19}$/;

const toRecord = (row: AuditRow): AuditRecord => ({
  id: row.id,
  at: row.at.toISOString(),
  actor: { kind: row.actor_kind, id: row.actor_id, name: row.actor_name, role: row.actor_role },
  action: row.action,
  target: { type: row.target_type, id: row.target_id },
  requestId: row.request_id,
  sourceIp: row.source_ip,
  outcome: row.outcome,
});

/** SQL of the org database's append-only `audit_log`. */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /**
   * Appends one row on `client`, inside whatever transaction it is in. The row is written
   * as the platform (service_role) and the transaction's role restored after: a caller may
   * append under RLS but, unless admin, not read the row back, which RETURNING needs.
   */
  async insert(client: pg.ClientBase, entry: AuditEntry): Promise<AuditRecord> {
    const { rows: roles } = await client.query<{ role: string }>(
      `SELECT current_setting('role') AS role, set_config('role', 'service_role', true) AS platform`,
    );
    const { rows } = await client.query<AuditRow>(
      `INSERT INTO audit_log (actor_kind, actor_id, actor_name, actor_role, action, target_type, target_id, request_id, source_ip, outcome)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
      [
        entry.actor.kind,
        entry.actor.id,
        entry.actor.name,
        entry.actor.role,
        entry.action,
        entry.target.type,
        entry.target.id,
        entry.requestId,
        entry.sourceIp,
        entry.outcome,
      ],
    );
    await client.query(`SELECT set_config('role', $1, true)`, [roles[0]!.role]);
    return toRecord(rows[0]!);
  }

  /**
   * Appends the rows as the platform (service_role) in one transaction of their own, by one
   * multi-row insert sent with the transaction as one round trip; ids follow the order
   * given. Returns the records in that order. Only what the database chose (id, time) comes
   * back: a busy API group-commits many rows at once, and reading every column back cost
   * more than writing them.
   */
  async insertManyAsPlatform(orgId: string, entries: AuditEntry[]): Promise<AuditRecord[]> {
    const rows = entries.map((entry) => ({
      actor_kind: entry.actor.kind,
      actor_id: entry.actor.id,
      actor_name: entry.actor.name,
      actor_role: entry.actor.role,
      action: entry.action,
      target_type: entry.target.type,
      target_id: entry.target.id,
      request_id: entry.requestId,
      source_ip: entry.sourceIp,
      outcome: entry.outcome,
    }));
    // One round trip for the whole transaction: the rows go as one escaped JSON literal.
    const [added] = await this.orgDatabase.asServiceInOneTrip(
      orgId,
      (literal) =>
        `WITH given AS (
           SELECT * FROM ROWS FROM (jsonb_to_recordset(${literal(JSON.stringify(rows))}::jsonb) AS (actor_kind text, actor_id text,
                  actor_name text, actor_role text, action text, target_type text, target_id text, request_id text, source_ip text,
                  outcome text))
                  WITH ORDINALITY AS e(actor_kind, actor_id, actor_name, actor_role, action, target_type, target_id, request_id, source_ip,
                  outcome, ord)
         ), added AS (
           INSERT INTO audit_log (actor_kind, actor_id, actor_name, actor_role, action, target_type, target_id, request_id, source_ip, outcome)
           SELECT actor_kind, actor_id, actor_name, actor_role, action, target_type, target_id, request_id, source_ip, outcome
             FROM given ORDER BY ord
           RETURNING id, (extract(epoch FROM at) * 1000)::float8 AS at_ms
         )
         SELECT * FROM added ORDER BY id`,
    );
    return (added!.rows as { id: string; at_ms: number }[]).map((row, index) => {
      const { actor, action, target, requestId, sourceIp, outcome } = entries[index]!;
      return { id: row.id, at: new Date(row.at_ms).toISOString(), actor, action, target, requestId, sourceIp, outcome };
    });
  }

  /** Rows the caller may read (admins only, by RLS), newest first, one more than `limit` to tell a next page. */
  async list(claims: OrgClaims, query: AuditQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    if (query.cursor !== undefined && !CURSOR.test(query.cursor)) throw new InvalidInputError(['cursor is not one this API gave out']);
    const params: unknown[] = [];
    const where: string[] = [];
    const condition = (sql: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (query.action !== undefined) condition((p) => `action = ${p}`, query.action);
    if (query.actorId !== undefined) condition((p) => `actor_id = ${p}`, query.actorId);
    if (query.targetType !== undefined) condition((p) => `target_type = ${p}`, query.targetType);
    if (query.after !== undefined) condition((p) => `at >= ${p}`, query.after);
    if (query.before !== undefined) condition((p) => `at < ${p}`, query.before);
    if (query.cursor !== undefined) condition((p) => `id < ${p}`, query.cursor);
    params.push(query.limit + 1);
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<AuditRow>(
        `SELECT ${COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
        params,
      ),
    );
    const items = rows.slice(0, query.limit).map(toRecord);
    return { items, nextCursor: rows.length > query.limit ? items[items.length - 1]!.id : null };
  }
}
