/** Who acted: an org API token, a session JWT exchanged for one, or the platform itself. */
export interface AuditActor {
  kind: 'token' | 'session' | 'platform';
  id: string | null;
  name: string | null;
  role: string | null;
}

export const AUDIT_OUTCOMES = ['success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One state-changing request of an org, without any value or secret it carried. */
export interface AuditEntry {
  actor: AuditActor;
  /** `<target type>.<verb>`, e.g. `config.put`. */
  action: string;
  target: { type: string; id: string | null };
  requestId: string | null;
  sourceIp: string | null;
  outcome: AuditOutcome;
}

/** An audit row as stored and served. */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

/** Filters of the audit log, newest first. */
export interface AuditQuery {
  action?: string;
  actorId?: string;
  targetType?: string;
  /** Only rows at or after this instant (ISO 8601). */
  after?: string;
  /** Only rows before this instant (ISO 8601). */
  before?: string;
  limit: number;
  cursor?: string;
}
