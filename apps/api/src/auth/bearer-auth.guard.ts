import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Authenticator, LoginFailureLimiter, roleAtLeast, type Principal } from '#libs/auth';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RequestRateLimits } from '../http/request-rate-limits.js';
import { ACCESS_METADATA, type Access } from './access.decorators.js';

export const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Checks every route's access rule (deny unless decorated). Unknown, tampered, expired
 * or revoked credentials are 401 and count as failed logins of the source, which is
 * then refused with 429 for a while; the credential itself is never logged. Then an org
 * principal's request rates (per token, per org; 429 naming the setting).
 *
 * A credential verified moments ago (in the credential cache) costs one Redis round trip
 * for all of that: the source's failed-login check and the rate script go out together.
 * Any other credential is looked up only after the source is known not to be blocked, so a
 * blocked source costs no lookup.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginFailureLimiter,
    private readonly rates: RequestRateLimits,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
    if (access?.kind === 'public') return true;
    if (!access) throw new ForbiddenException('this route has no access rule');

    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const source = request.ip;
    const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const known = bearer === undefined ? undefined : this.authenticator.cached(bearer);
    if (known) {
      const blocked = this.limiter.isBlocked(source);
      const refusal = refusalOf(known, access);
      const limited = !refusal && known.kind === 'org' ? this.rates.take(known) : undefined;
      const [isBlocked, rateRefusal] = await Promise.all([blocked, limited]);
      if (isBlocked) throw tooManyFailures();
      if (refusal) throw refusal;
      if (rateRefusal) throw rateRefusal;
      request.principal = known;
      return true;
    }

    if (await this.limiter.isBlocked(source)) throw tooManyFailures();
    const principal = bearer ? await this.authenticator.authenticate(bearer) : undefined;
    if (!principal) {
      await this.limiter.recordFailure(source);
      this.logger.warn({ source, reqId: request.id, reason: bearer ? 'unknown or expired credential' : 'no bearer token' }, 'failed login');
      throw new UnauthorizedException(bearer ? 'invalid, expired or revoked token' : 'missing bearer token');
    }
    const refusal = refusalOf(principal, access);
    if (refusal) throw refusal;
    if (principal.kind === 'org') {
      const rateRefusal = await this.rates.take(principal);
      if (rateRefusal) throw rateRefusal;
    }
    request.principal = principal;
    return true;
  }
}

function tooManyFailures(): HttpException {
  return new HttpException('too many failed logins from this address; try again later', HttpStatus.TOO_MANY_REQUESTS);
}

/** Why `principal` may not use a route with this access rule (403), or undefined when it may. */
function refusalOf(principal: Principal, access: Exclude<Access, { kind: 'public' }>): ForbiddenException | undefined {
  if (access.kind === 'authenticated') return undefined;
  if (access.kind === 'platform-admin') {
    return principal.kind === 'platform-admin' ? undefined : new ForbiddenException('this route needs the platform admin token');
  }
  if (principal.kind !== 'org') return new ForbiddenException('this route needs an organization token');
  if (!roleAtLeast(principal.role, access.role)) return new ForbiddenException(`this route needs the ${access.role} role`);
  return undefined;
}
