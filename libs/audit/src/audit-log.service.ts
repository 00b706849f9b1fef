import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { EventType, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import type { OrgClaims } from '#libs/registry';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit-entry.js';
import { AuditLogRepository } from './audit-log.repository.js';
import type { AuditTrail } from './audit-trail.js';

/** Rows of one org written by one transaction at most; more wait for the next. */
const GROUP_COMMIT_MAX_ROWS = 500;

interface PendingRow {
  entry: AuditEntry;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

/**
 * The org audit log: one row per state-changing request, kept in the org database and
 * announced on the `audit` topic. Rows recorded on their own are group-committed: while
 * one transaction of an org is writing, the rows recorded meanwhile wait and go together
 * in the next (one multi-row insert, one commit), and each caller resumes only once its
 * row is committed. Under load a request therefore costs a share of one transaction, not
 * one of its own, and no row is answered before it is durable.
 */
@Injectable()
export class AuditLogService {
  /** Per org: rows waiting for the next transaction while one is writing. */
  private readonly pending = new Map<string, PendingRow[]>();
  private readonly writing = new Set<string>();

  constructor(
    private readonly repository: AuditLogRepository,
    private readonly events: OrgEventStream,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Records `entry` in the org's audit log. With `client`, the row is written inside that
   * client's transaction (so it commits or rolls back with the change it describes) and
   * the caller announces it with `announce` once that transaction has committed; without,
   * it is written by the platform in the org's next group commit, and the promise resolves
   * once it is committed; it is announced right after.
   */
  async record(orgId: string, entry: AuditEntry, client?: pg.ClientBase): Promise<AuditRecord> {
    if (client) return this.repository.insert(client, entry);
    return new Promise<AuditRecord>((resolve, reject) => {
      const rows = this.pending.get(orgId) ?? [];
      rows.push({ entry, resolve, reject });
      this.pending.set(orgId, rows);
      if (!this.writing.has(orgId)) void this.writePending(orgId);
    });
  }

  /** Writes the org's waiting rows, a transaction at a time, until none wait. */
  private async writePending(orgId: string): Promise<void> {
    this.writing.add(orgId);
    try {
      for (let rows = this.pending.get(orgId); rows?.length; rows = this.pending.get(orgId)) {
        const batch = rows.splice(0, GROUP_COMMIT_MAX_ROWS);
        if (rows.length === 0) this.pending.delete(orgId);
        let records: AuditRecord[];
        try {
          records = await this.repository.insertManyAsPlatform(
            orgId,
            batch.map((row) => row.entry),
          );
        } catch (error) {
          for (const row of batch) row.reject(error);
          continue;
        }
        // Committed: the callers go on while the rows are announced (before the next batch, so in order).
        batch.forEach((row, index) => row.resolve(records[index]!));
        await this.announce(orgId, records).catch((error: Error) =>
          this.logger.warn({ orgId, err: error.message, rows: records.length }, 'audit rows recorded but not announced'),
        );
      }
    } finally {
      this.writing.delete(orgId);
    }
  }

  /** Writes the request's successful row for `targetId` inside the change's transaction on `client`. */
  async recordInTransaction(trail: AuditTrail, targetId: string, client: pg.ClientBase): Promise<void> {
    trail.written.push(await this.repository.insert(client, trail.entry(targetId, 'success')));
  }

  /** Streams committed audit rows to the org's `audit` subscribers. */
  async announce(orgId: string, records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.events.appendMany(
      orgId,
      records.map((record) => ({ topic: Topic.audit, type: EventType.auditRecorded, at: record.at, data: record })),
    );
  }

  /** The rows the caller may read (admins only), newest first. */
  list(claims: OrgClaims, query: AuditQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    return this.repository.list(claims, query);
  }
}
