import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { RedisConnection, RedisKeys } from '#libs/redis';

/** Counts failed logins per source in Redis (shared by every API replica) and says when a source must wait. */
@Injectable()
export class LoginFailureLimiter {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {}

  /** True when `source` spent its failed logins for the current window. */
  async isBlocked(source: string): Promise<boolean> {
    const failures = await this.redis.client.get(this.key(source));
    return Number(failures ?? 0) >= this.config.AUTH_FAILURE_LIMIT;
  }

  /** Counts one failed login; the window starts at a source's first failure. */
  async recordFailure(source: string): Promise<void> {
    await this.redis.client.multi().incr(this.key(source)).expire(this.key(source), this.config.AUTH_FAILURE_WINDOW_SECONDS, 'NX').exec();
  }

  private key(source: string): string {
    return this.keys.platform('auth-failures', source);
  }
}
