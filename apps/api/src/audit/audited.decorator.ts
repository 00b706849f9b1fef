import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { AuditTrail } from '#libs/audit';

export const AUDIT_METADATA = 'platform:audit';

/** What a state-changing route leaves in the org's audit log. */
export interface AuditedRoute {
  /** `<target type>.<verb>`, e.g. `task.cancel`. */
  action: string;
  targetType: string;
  /** Path parameters naming the target, joined with `/`; none: the `id` of the route's answer (a creation). */
  idParams: string[];
}

/**
 * Marks an org route as state-changing: AuditInterceptor records one audit row per request,
 * successful or not. Routes whose service writes the row in the change's own transaction
 * take the trail with `@RequestAuditTrail()`.
 */
export const Audited = (action: string, targetType: string, ...idParams: string[]) =>
  SetMetadata(AUDIT_METADATA, { action, targetType, idParams } satisfies AuditedRoute);

/** The request's audit trail (opened by AuditInterceptor), for a service to write inside its transaction. */
export const RequestAuditTrail = createParamDecorator((_data: unknown, context: ExecutionContext): AuditTrail => {
  const trail = context.switchToHttp().getRequest<{ auditTrail?: AuditTrail }>().auditTrail;
  if (!trail) throw new Error('RequestAuditTrail used on a route without Audited');
  return trail;
});
