import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { OrgWorkQueue } from '../tenancy/org-work-queue.js';

/** When a request refused for a full queue may try again: a full queue takes about this long to drain. */
const QUEUE_FULL_RETRY_MS = 1000;

const ORG_PLACE = Symbol('orgPlace');

type PlacedRequest = FastifyRequest & { principal?: Principal; [ORG_PLACE]?: () => void };

/**
 * Gives the request's place among its org's ORG_REQUESTS_IN_FLIGHT_MAX back early: for a
 * request about to wait on something other than this process (a lease's waitSeconds), which
 * costs nothing meanwhile and must not hold up the org's other requests, the release that
 * would end its wait among them. Its own cap bounds such waits (QUOTA_LEASE_WAITERS_PER_POOL).
 */
export function giveBackOrgPlace(request: FastifyRequest): void {
  (request as PlacedRequest)[ORG_PLACE]?.();
}

/**
 * Fair share of this process between orgs: after authentication (whose guard also took the
 * request's points from its token's and its org's rate windows, RequestRateLimits), each org
 * request waits for one of its org's ORG_REQUESTS_IN_FLIGHT_MAX places in this process
 * (given back when the answer is sent) in the org's own queue of at most
 * ORG_REQUESTS_QUEUE_MAX. Past a full queue, 429 naming the setting, with Retry-After. A
 * flooding org waits behind its own requests, never ahead of another org's. The platform
 * admin is not limited.
 */
@Injectable()
export class RequestRateGuard implements CanActivate {
  private readonly inFlight: OrgWorkQueue;

  constructor(config: PlatformConfig) {
    this.inFlight = new OrgWorkQueue(config.ORG_REQUESTS_IN_FLIGHT_MAX, config.ORG_REQUESTS_QUEUE_MAX);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<PlacedRequest>();
    const principal = request.principal;
    if (principal?.kind !== 'org') return true;
    const turn = this.inFlight.turn(principal.orgId);
    if (!turn) {
      throw new RateLimitedError(
        'ORG_REQUESTS_QUEUE_MAX',
        QUEUE_FULL_RETRY_MS,
        `this organization has ${this.inFlight.concurrency} requests in progress here and ${this.inFlight.maxWaiting} waiting, the most ORG_REQUESTS_QUEUE_MAX allows; try again later`,
      );
    }
    const end = await turn;
    request[ORG_PLACE] = end;
    // 'close' comes once the answer is sent or the client went away, whichever way the request ended.
    const response = http.getResponse<FastifyReply>().raw;
    if (response.closed) end();
    else response.once('close', end);
    return true;
  }
}
