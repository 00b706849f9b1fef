import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { RedisConnection, RedisKeys } from '#libs/redis';

const WINDOW_SECONDS = 1;

/**
 * Fair share of the API between orgs: after authentication, each org request takes a
 * point from its token's limiter and from its org's (Redis-backed, so the limits hold
 * across API replicas). Past either, 429 naming the setting, with Retry-After. A key that
 * has used up its window is then refused from memory, so a flooding org costs this
 * process and Redis next to nothing until the window turns. The platform admin is not limited.
 */
@Injectable()
export class RequestRateGuard implements CanActivate {
  private readonly perToken: RateLimiterRedis;
  private readonly perOrg: RateLimiterRedis;

  constructor(config: PlatformConfig, redis: RedisConnection, keys: RedisKeys) {
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix: keys.rateLimit(name),
        points,
        duration: WINDOW_SECONDS,
        inMemoryBlockOnConsumed: points,
        inMemoryBlockDuration: WINDOW_SECONDS,
      });
    this.perToken = limiter('token-requests', config.RATE_LIMIT_TOKEN_PER_SECOND);
    this.perOrg = limiter('org-requests', config.RATE_LIMIT_ORG_PER_SECOND);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const principal = context.switchToHttp().getRequest<Request & { principal?: Principal }>().principal;
    if (principal?.kind !== 'org') return true;
    await this.take(this.perToken, principal.tokenId, 'RATE_LIMIT_TOKEN_PER_SECOND', 'this token');
    await this.take(this.perOrg, principal.orgId, 'RATE_LIMIT_ORG_PER_SECOND', 'this organization');
    return true;
  }

  private async take(limiter: RateLimiterRedis, key: string, setting: string, who: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      throw new RateLimitedError(
        setting,
        refusal.msBeforeNext,
        `${who} made more than ${limiter.points} requests a second (${setting}); try again later`,
      );
    }
  }
}
