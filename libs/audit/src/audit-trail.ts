import type { AuditActor, AuditEntry, AuditOutcome, AuditRecord } from './audit-entry.js';

/**
 * The audit row a request will leave: who, what and from where, known before the change.
 * A service that changes Postgres writes it in the change's own transaction
 * (`AuditLogService.recordInTransaction`); otherwise it is recorded right after the change.
 */
export class AuditTrail {
  /** Rows written inside the request's transaction, to announce once it has committed. */
  readonly written: AuditRecord[] = [];

  constructor(
    readonly orgId: string,
    readonly actor: AuditActor,
    readonly action: string,
    readonly targetType: string,
    readonly requestId: string | null,
    readonly sourceIp: string | null,
  ) {}

  /** The entry for `targetId` with `outcome`. */
  entry(targetId: string | null, outcome: AuditOutcome): AuditEntry {
    return {
      actor: this.actor,
      action: this.action,
      target: { type: this.targetType, id: targetId },
      requestId: this.requestId,
      sourceIp: this.sourceIp,
      outcome,
    };
  }
}
