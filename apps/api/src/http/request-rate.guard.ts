import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { OrgWorkQueue } from '../tenancy/org-work-queue.js';

const WINDOW_SECONDS = 1;
/** When a request refused for a full queue may try again: a full queue takes about this long to drain. */
const QUEUE_FULL_RETRY_MS = 1000;

/**
 * Fair share of the API between orgs: after authentication, each org request takes a
 * point from its token's limiter and from its org's (Redis-backed, so the rates hold across
 * API replicas), then waits for one of its org's ORG_REQUESTS_IN_FLIGHT_MAX places in
 * this process (given back when the answer is sent) in the org's own queue of at most
 * ORG_REQUESTS_QUEUE_MAX. Past a rate or a full queue, 429 naming the setting, with
 * Retry-After. A key that has used up its window is refused from memory, and a flooding
 * org waits behind its own requests, never ahead of another org's, so it costs this
 * process and Redis next to nothing. The platform admin is not limited.
 */
@Injectable()
export class RequestRateGuard implements CanActivate {
  private readonly perToken: RateLimiterRedis;
  private readonly perOrg: RateLimiterRedis;
  private readonly inFlight: OrgWorkQueue;

  constructor(config: PlatformConfig, redis: RedisConnection, keys: RedisKeys) {
    this.inFlight = new OrgWorkQueue(config.ORG_REQUESTS_IN_FLIGHT_MAX, config.ORG_REQUESTS_QUEUE_MAX);
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
    await this.take(this.perToken, principal.tokenId, 'RATE_LIMIT_TOKEN_PER_SECOND', 'this token');
    await this.take(this.perOrg, principal.orgId, 'RATE_LIMIT_ORG_PER_SECOND', 'this organization');
    const turn = this.inFlight.turn(principal.orgId);
    if (!turn) {
      throw new RateLimitedError(
        'ORG_REQUESTS_QUEUE_MAX',
        QUEUE_FULL_RETRY_MS,
        `this organization has ${this.inFlight.concurrency} requests in progress here and ${this.inFlight.maxWaiting} waiting, the most ORG_REQUESTS_QUEUE_MAX allows; try again later`,
      );
    }
    const end = await turn;
    // 'close' comes once the answer is sent or the client went away, whichever way the request ended.
    const response = http.getResponse<Response>();
    if (response.closed) end();
    else response.once('close', end);
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
