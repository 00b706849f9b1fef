import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { OrgPrincipal, Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RateLimitedError } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';

const WINDOW_SECONDS = 1;
/** Keys refused from memory at most; past this, the lapsed ones are swept. */
const SWEEP_AT = 1_000;

/**
 * Takes one point from the token's window and, if the token still had one, one from its
 * org's — fixed windows as rate-limiter-flexible keeps them (the first point starts the
 * window and sets its expiry) — in one script, so a request costs one Redis call. An
 * admitted request costs each window one INCR (and its first an EXPIRE); the window's PTTL
 * is read only for a refusal, which needs it. Both keys carry the org's hash tag.
 * Answers 0 (admitted), or which window refused (1: token, 2: org) and its PTTL.
 */
const TAKE_REQUEST_POINTS = `
local seconds = tonumber(ARGV[3])
local function over(key, points)
  local consumed = redis.call('INCR', key)
  if consumed == 1 then redis.call('EXPIRE', key, seconds) end
  return consumed > points
end
local function refused(window, key)
  local ttl = redis.call('PTTL', key)
  -- A window left without an expiry (by anything but this script) would refuse for ever.
  if ttl < 0 then
    redis.call('EXPIRE', key, seconds)
    ttl = 1000 * seconds
  end
  return {window, ttl}
end
if over(KEYS[1], tonumber(ARGV[1])) then return refused(1, KEYS[1]) end
if over(KEYS[2], tonumber(ARGV[2])) then return refused(2, KEYS[2]) end
return {0, 0}
`;

/**
 * Takes `ARGV[1]` more points from the token's window and from its org's, whether or not
 * they have them left: what a window overdraws keeps it closed longer, one second more per
 * its limit's worth of points, so the debt is paid in the seconds after it, not forgiven
 * when the window ends. Answers, per window (token, org), how long it stays closed (PTTL),
 * or 0 when it is not overdrawn.
 */
const CHARGE_REQUEST_POINTS = `
local function charge(key, points, limit, seconds)
  redis.call('SET', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('INCRBY', key, points)
  if consumed <= limit then return 0 end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then ttl = 1000 * seconds end
  ttl = ttl + math.ceil(math.min(points, consumed - limit) * 1000 * seconds / limit)
  redis.call('PEXPIRE', key, ttl)
  return ttl
end
local points = tonumber(ARGV[1])
local seconds = tonumber(ARGV[4])
return {charge(KEYS[1], points, tonumber(ARGV[2]), seconds), charge(KEYS[2], points, tonumber(ARGV[3]), seconds)}
`;

const takeRequestPoints = new LuaScript<[number, number]>(TAKE_REQUEST_POINTS, 2);
const chargeRequestPoints = new LuaScript<[number, number]>(CHARGE_REQUEST_POINTS, 2);

/**
 * Per-token and per-org request rates (RATE_LIMIT_TOKEN_PER_SECOND, RATE_LIMIT_ORG_PER_SECOND),
 * Redis-backed so they hold across API replicas: one script call per request, and one more
 * for an answer of RATE_LIMIT_RESPONSE_BYTES_PER_POINT or more, which costs more points. A
 * key that has used up its window is refused from memory until the window ends, so a flood
 * costs Redis nothing.
 */
@Injectable()
export class RequestRateLimits {
  private readonly redis: Redis;
  /** Token ids and org ids refused until (ms since the epoch). */
  private readonly tokensRefused = new Map<string, number>();
  private readonly orgsRefused = new Map<string, number>();

  constructor(
    private readonly config: PlatformConfig,
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {
    this.redis = connection.client;
  }

  /**
   * Charges every org request's answer to its rates (`chargeAnswer`) from an `onSend` hook
   * of the API's Fastify instance (added before it is ready), where the body is already
   * serialised and its size known. Streamed bodies are not charged.
   */
  register(app: FastifyInstance): void {
    app.addHook('onSend', (request, _reply, payload, done) => {
      const principal = (request as FastifyRequest & { principal?: Principal }).principal;
      if (principal?.kind === 'org' && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
        const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
        // Not waited for: the answer goes out now, the points are taken before the org's next request is checked.
        this.chargeAnswer(principal, bytes).catch((error: unknown) =>
          this.logger.warn({ err: error, org: principal.orgId }, 'charging an answer to its request rates failed'),
        );
      }
      done(null, payload);
    });
  }

  /**
   * Takes one more point of the token's and the org's rate per whole
   * RATE_LIMIT_RESPONSE_BYTES_PER_POINT of an answer's body. A window this overdraws stays
   * closed until the debt is paid, and is refused from memory meanwhile.
   */
  async chargeAnswer(principal: OrgPrincipal, bytes: number): Promise<void> {
    const points = Math.floor(bytes / this.config.RATE_LIMIT_RESPONSE_BYTES_PER_POINT);
    if (points === 0) return;
    const [tokenTtl, orgTtl] = await chargeRequestPoints.run(
      this.redis,
      this.keys.org(principal.orgId, 'rate', 'token-requests', principal.tokenId),
      this.keys.org(principal.orgId, 'rate', 'org-requests'),
      points,
      this.config.RATE_LIMIT_TOKEN_PER_SECOND,
      this.config.RATE_LIMIT_ORG_PER_SECOND,
      WINDOW_SECONDS,
    );
    const now = Date.now();
    if (tokenTtl > 0) this.refuse(this.tokensRefused, principal.tokenId, now + tokenTtl);
    if (orgTtl > 0) this.refuse(this.orgsRefused, principal.orgId, now + orgTtl);
  }

  /** Takes the request's points; resolves to the refusal (429) when a window is used up, undefined when admitted. */
  async take(principal: OrgPrincipal): Promise<RateLimitedError | undefined> {
    const known = this.refusedFromMemory(principal);
    if (known) return known;
    const [refused, ttl] = await takeRequestPoints.run(
      this.redis,
      this.keys.org(principal.orgId, 'rate', 'token-requests', principal.tokenId),
      this.keys.org(principal.orgId, 'rate', 'org-requests'),
      this.config.RATE_LIMIT_TOKEN_PER_SECOND,
      this.config.RATE_LIMIT_ORG_PER_SECOND,
      WINDOW_SECONDS,
    );
    if (refused === 0) return undefined;
    const until = Date.now() + ttl;
    if (refused === 1) {
      this.refuse(this.tokensRefused, principal.tokenId, until);
      return this.tokenRefusal(ttl);
    }
    this.refuse(this.orgsRefused, principal.orgId, until);
    return this.orgRefusal(ttl);
  }

  /** Whether this process knows of any token's or org's window to be used up (lapsed ones count until next looked at). */
  refusesAny(): boolean {
    return this.tokensRefused.size > 0 || this.orgsRefused.size > 0;
  }

  /** The refusal (429) of a token or org whose window this process already knows to be used up, without asking Redis. */
  refusedFromMemory(principal: OrgPrincipal): RateLimitedError | undefined {
    const now = Date.now();
    const tokenUntil = this.refusedUntil(this.tokensRefused, principal.tokenId, now);
    if (tokenUntil) return this.tokenRefusal(tokenUntil - now);
    const orgUntil = this.refusedUntil(this.orgsRefused, principal.orgId, now);
    if (orgUntil) return this.orgRefusal(orgUntil - now);
    return undefined;
  }

  private tokenRefusal(retryAfterMs: number): RateLimitedError {
    const points = this.config.RATE_LIMIT_TOKEN_PER_SECOND;
    return new RateLimitedError(
      'RATE_LIMIT_TOKEN_PER_SECOND',
      retryAfterMs,
      `this token made more than ${points} requests a second (RATE_LIMIT_TOKEN_PER_SECOND); try again later`,
    );
  }

  private orgRefusal(retryAfterMs: number): RateLimitedError {
    const points = this.config.RATE_LIMIT_ORG_PER_SECOND;
    return new RateLimitedError(
      'RATE_LIMIT_ORG_PER_SECOND',
      retryAfterMs,
      `this organization made more than ${points} requests a second (RATE_LIMIT_ORG_PER_SECOND); try again later`,
    );
  }

  private refusedUntil(refused: Map<string, number>, key: string, now: number): number | undefined {
    const until = refused.get(key);
    if (until === undefined) return undefined;
    if (until > now) return until;
    refused.delete(key);
    return undefined;
  }

  private refuse(refused: Map<string, number>, key: string, until: number): void {
    if (refused.size >= SWEEP_AT) {
      const now = Date.now();
      for (const [other, otherUntil] of refused) if (otherUntil <= now) refused.delete(other);
    }
    refused.set(key, until);
  }
}
