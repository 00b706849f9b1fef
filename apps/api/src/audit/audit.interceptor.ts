import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, throwError, type Observable } from 'rxjs';
import { AuditLogService, AuditTrail, type AuditActor, type AuditOutcome } from '#libs/audit';
import type { OrgPrincipal, Principal } from '#libs/auth';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { AUDIT_METADATA, type AuditedRoute } from './audited.decorator.js';

type AuditedRequest = FastifyRequest<{ Params: Record<string, string | undefined> }> & { principal?: Principal; auditTrail?: AuditTrail };

/** The audit log's actor for an org principal: its token, directly or through a session. */
export function actorOf(principal: OrgPrincipal): AuditActor {
  return {
    kind: principal.via === 'session' ? 'session' : 'token',
    id: principal.tokenId,
    name: principal.tokenName,
    role: principal.role,
  };
}

/**
 * Records one audit row for every request of an `@Audited` org route: after a successful
 * change (unless its service already wrote the row inside the change's transaction, which
 * is then announced here once committed), and after a refused or failed one, with
 * outcome `failure`. Requests refused before the route runs (no token, role too low) change
 * nothing and are not recorded.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditLogService,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route =
      context.getType() === 'http' ? this.reflector.get<AuditedRoute | undefined>(AUDIT_METADATA, context.getHandler()) : undefined;
    const request = context.switchToHttp().getRequest<AuditedRequest>();
    const principal = request.principal;
    if (!route || principal?.kind !== 'org') return next.handle();
    const trail = new AuditTrail(principal.orgId, actorOf(principal), route.action, route.targetType, request.id, request.ip);
    request.auditTrail = trail;
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await this.finish(trail, route, request, 'success', result);
        return result;
      }),
      catchError((error: unknown) => from(this.finish(trail, route, request, 'failure')).pipe(mergeMap(() => throwError(() => error)))),
    );
  }

  /** Records (or announces) the request's row; an audit outage is logged, never turned into the answer of a change already made. */
  private async finish(
    trail: AuditTrail,
    route: AuditedRoute,
    request: AuditedRequest,
    outcome: AuditOutcome,
    result?: unknown,
  ): Promise<void> {
    try {
      if (outcome === 'success' && trail.written.length > 0) {
        await this.audit.announce(trail.orgId, trail.written);
        return;
      }
      await this.audit.record(trail.orgId, trail.entry(targetId(route, request, result), outcome));
    } catch (error) {
      this.logger.error({ err: error, reqId: trail.requestId, action: trail.action, outcome }, 'audit row not recorded');
    }
  }
}

function targetId(route: AuditedRoute, request: AuditedRequest, result: unknown): string | null {
  if (route.idParams.length > 0) {
    const parts = route.idParams.map((name) => request.params[name]);
    return parts.every((part) => typeof part === 'string') ? parts.join('/') : null;
  }
  const id = (result as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : null;
}
