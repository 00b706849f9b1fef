import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { InFlightShares } from '../tenancy/in-flight-shares.js';

const WINDOW_SECONDS = 1;

/**
 * Fair share of the API between orgs: after authentication, each org request takes one of
 * its org's ORG_REQUESTS_IN_FLIGHT_MAX places in this process (given back when the answer
 * is sent), then a point from its token's limiter and from its org's (Redis-backed, so the
 * rates hold across API replicas). Past any, 429 naming the setting, with Retry-After. A
 * full org, or a key that has used up its window, is refused from memory, so a flooding
 * org costs this process and Redis next to nothing and never queues ahead of another
 * org's requests. The platform admin is not limited.
 */
@Injectable()
export class RequestRateGuard implements CanActivate {
  private readonly perToken: RateLimiterRedis;
  private readonly perOrg: RateLimiterRedis;
  private readonly inFlight: InFlightShares;

  constructor(config: PlatformConfig, redis: RedisConnection, keys: RedisKeys) {
    this.inFlight = new InFlightShares(config.ORG_REQUESTS_IN_FLIGHT_MAX);
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
    const http = context.switchToHttp();
    const principal = http.getRequest<Request & { principal?: Principal }>().principal;
    if (principal?.kind !== 'org') return true;
    const release = this.inFlight.take(principal.orgId);
    if (!release) {
      throw new RateLimitedError(
        'ORG_REQUESTS_IN_FLIGHT_MAX',
        1000,
        `this organization has ${this.inFlight.max} requests in progress here, the most ORG_REQUESTS_IN_FLIGHT_MAX allows; try again when one has been answered`,
      );
    }
    // 'close' comes once the answer is sent or the client went away, whichever way the request ended.
    http.getResponse<Response>().once('close', release);
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
