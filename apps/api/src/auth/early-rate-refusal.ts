import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Authenticator } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import type { RateLimitedError } from '#libs/contracts';
import { rateLimitedBody, retryAfterSeconds } from '../http/http-exception.filter.js';
import { RequestRateLimits } from '../http/request-rate-limits.js';
import { OrgWorkQueue } from '../tenancy/org-work-queue.js';
import { BEARER } from './bearer-auth.guard.js';

/** Where every route needs a credential: none under it is public. */
const AUTHENTICATED_PREFIX = '/v1/';

/**
 * Refuses, as it arrives, a request whose credential was verified moments ago (the
 * credential cache) and whose token's or org's rate window this process already knows to
 * be used up: before its body is read and before Nest's routing, guards and exception
 * filter, with the answer BearerAuthGuard would give (the same body, `limit` and
 * Retry-After). That answer is held until the window reopens, at most
 * RATE_LIMIT_REFUSAL_HOLD_MS: a client that waits out Retry-After never meets the hold,
 * and one that asks again at once gets one refusal per connection and window instead of
 * as many as the process can answer. At most ORG_REQUESTS_QUEUE_MAX of an org's refusals
 * are held per process; past that they are answered at once. Anything else goes on to
 * the guards as before.
 */
@Injectable()
export class EarlyRateRefusal {
  /** Places for held refusals: ORG_REQUESTS_QUEUE_MAX per org, none waiting for one. */
  private readonly held: OrgWorkQueue;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly rates: RequestRateLimits,
    private readonly config: PlatformConfig,
  ) {
    this.held = new OrgWorkQueue(config.ORG_REQUESTS_QUEUE_MAX, 0);
  }

  /** Adds the `onRequest` hook to the API's Fastify instance (before it is ready, after request logging). */
  register(app: FastifyInstance): void {
    app.addHook('onRequest', (request, reply, done) => {
      // With no window known to be used up (the usual case) the credential is not looked up twice: the guard looks it up.
      if (!this.rates.refusesAny()) return done();
      const bearer = request.routeOptions.url?.startsWith(AUTHENTICATED_PREFIX)
        ? BEARER.exec(request.headers.authorization ?? '')?.[1]
        : undefined;
      const known = bearer === undefined ? undefined : this.authenticator.cached(bearer);
      if (known?.kind !== 'org') return done();
      const refusal = this.rates.refusedFromMemory(known);
      if (!refusal) return done();
      const holdMs = Math.min(refusal.retryAfterMs, this.config.RATE_LIMIT_REFUSAL_HOLD_MS);
      const place = holdMs > 0 ? this.held.turn(known.orgId) : undefined;
      if (!place) return this.refuse(reply, refusal);
      void place.then((release) => {
        const timer = setTimeout(() => {
          reply.raw.off('close', gone);
          release();
          this.refuse(reply, refusal, holdMs);
        }, holdMs);
        // A client that gave up is not answered; its place is given back at once.
        const gone = () => {
          clearTimeout(timer);
          release();
        };
        reply.raw.once('close', gone);
      });
    });
  }

  /** Sends the refusal; its Retry-After counts from now, `heldMs` after it was found. */
  private refuse(reply: FastifyReply, refusal: RateLimitedError, heldMs = 0): void {
    void reply
      .code(429)
      .header('retry-after', retryAfterSeconds(refusal.retryAfterMs - heldMs))
      .send(rateLimitedBody(refusal));
  }
}
