import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';

/**
 * The one place Redis key names are built. Every key starts with REDIS_PREFIX; keys
 * of one organization share a `{org:<id>}` hash tag so a Lua script touching several
 * of them stays on one Redis Cluster slot.
 */
@Injectable()
export class RedisKeys {
  readonly prefix: string;

  constructor(config: PlatformConfig) {
    this.prefix = config.REDIS_PREFIX;
  }

  /** Prefix BullMQ puts before its queue keys. */
  get queuePrefix(): string {
    return `${this.prefix}:queue`;
  }

  /** A key of the platform itself, not tied to an organization. */
  platform(...parts: string[]): string {
    return [this.prefix, 'platform', ...parts].join(':');
  }

  /** A key of one organization. */
  org(orgId: string, ...parts: string[]): string {
    return [this.prefix, `{org:${orgId}}`, ...parts].join(':');
  }

  /** The org's event stream: every change of the org, in order, as event envelopes. */
  orgEvents(orgId: string): string {
    return this.org(orgId, 'events');
  }

  /** Pattern matching every key this platform wrote, for SCAN. */
  get everything(): string {
    return `${this.prefix}:*`;
  }
}
