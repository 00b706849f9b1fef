import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { EventType, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/realtime';
import type { OrgClaims } from '#libs/registry';
import type { AuditEntry, AuditQuery, AuditRecord } from './audit-entry.js';
import { AuditLogRepository } from './audit-log.repository.js';
import type { AuditTrail } from './audit-trail.js';

/** The org audit log: one row per state-changing request, kept in the org database and announced on the `audit` topic. */
@Injectable()
export class AuditLogService {
  constructor(
    private readonly repository: AuditLogRepository,
    private readonly events: OrgEventStream,
  ) {}

  /**
   * Records `entry` in the org's audit log. With `client`, the row is written inside that
   * client's transaction (so it commits or rolls back with the change it describes) and
   * the caller announces it with `announce` once that transaction has committed; without,
   * it is written by the platform at once and announced.
   */
  async record(orgId: string, entry: AuditEntry, client?: pg.ClientBase): Promise<AuditRecord> {
    if (client) return this.repository.insert(client, entry);
    const record = await this.repository.insertAsPlatform(orgId, entry);
    await this.announce(orgId, [record]);
    return record;
  }

  /** Writes the request's successful row for `targetId` inside the change's transaction on `client`. */
  async recordInTransaction(trail: AuditTrail, targetId: string, client: pg.ClientBase): Promise<void> {
    trail.written.push(await this.repository.insert(client, trail.entry(targetId, 'success')));
  }

  /** Streams committed audit rows to the org's `audit` subscribers. */
  async announce(orgId: string, records: AuditRecord[]): Promise<void> {
    for (const record of records) {
      await this.events.append(orgId, { topic: Topic.audit, type: EventType.auditRecorded, at: record.at, data: record });
    }
  }

  /** The rows the caller may read (admins only), newest first. */
  list(claims: OrgClaims, query: AuditQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    return this.repository.list(claims, query);
  }
}
