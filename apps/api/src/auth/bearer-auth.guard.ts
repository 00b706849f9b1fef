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
import type { Request } from 'express';
import { Authenticator, LoginFailureLimiter, roleAtLeast, type Principal } from '#libs/auth';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { ACCESS_METADATA, type Access } from './access.decorators.js';

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Checks every route's access rule (deny unless decorated). Unknown, tampered, expired
 * or revoked credentials are 401 and count as failed logins of the source, which is
 * then refused with 429 for a while; the credential itself is never logged.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginFailureLimiter,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
    if (access?.kind === 'public') return true;
    if (!access) throw new ForbiddenException('this route has no access rule');

    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const source = request.ip ?? 'unknown';
    if (await this.limiter.isBlocked(source)) {
      throw new HttpException('too many failed logins from this address; try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const principal = bearer ? await this.authenticator.authenticate(bearer) : undefined;
    if (!principal) {
      await this.limiter.recordFailure(source);
      this.logger.warn({ source, reqId: request.id, reason: bearer ? 'unknown or expired credential' : 'no bearer token' }, 'failed login');
      throw new UnauthorizedException(bearer ? 'invalid, expired or revoked token' : 'missing bearer token');
    }
    request.principal = principal;

    if (access.kind === 'authenticated') return true;
    if (access.kind === 'platform-admin') {
      if (principal.kind !== 'platform-admin') throw new ForbiddenException('this route needs the platform admin token');
      return true;
    }
    if (principal.kind !== 'org') throw new ForbiddenException('this route needs an organization token');
    if (!roleAtLeast(principal.role, access.role)) throw new ForbiddenException(`this route needs the ${access.role} role`);
    return true;
  }
}
