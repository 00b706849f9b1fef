import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { redisModeOf } from './redis-connection.js';

/**
 * The one place Redis key names are built. Every key starts with REDIS_PREFIX; keys
 * of one organization share a `{org:<id>}` hash tag so a Lua script touching several
 * of them stays on one Redis Cluster slot. On a cluster, platform-wide keys share the
 * `{platform}` tag and each BullMQ queue gets a tag of its own (`{queue:<name>}`); on a
 * standalone Redis those keys keep their untagged names, so existing data stays put.
 */
@Injectable()
export class RedisKeys {
  readonly prefix: string;
  private readonly clustered: boolean;

  constructor(config: PlatformConfig) {
    this.prefix = config.REDIS_PREFIX;
    this.clustered = redisModeOf(config) === 'cluster';
  }

  /** Prefix BullMQ puts before the keys of queue `name`: all of one queue's keys (its Lua scripts touch several) share a slot. */
  queuePrefix(name: string): string {
    return this.clustered ? `${this.prefix}:{queue:${name}}` : `${this.prefix}:queue`;
  }

  /** A key of the platform itself, not tied to an organization. */
  platform(...parts: string[]): string {
    return [this.prefix, this.clustered ? '{platform}' : 'platform', ...parts].join(':');
  }

  /** A key of one organization. */
  org(orgId: string, ...parts: string[]): string {
    return [this.prefix, `{org:${orgId}}`, ...parts].join(':');
  }

  /** The org's event stream: every change of the org, in order, as event envelopes. */
  orgEvents(orgId: string): string {
    return this.org(orgId, 'events');
  }

  /** Pattern matching every org's event stream, for SCAN. */
  get orgEventsPattern(): string {
    return this.orgEvents('*');
  }

  /** The org id of an event stream key built by `orgEvents`, or undefined for any other key. */
  orgOfEvents(key: string): string | undefined {
    const head = `${this.prefix}:{org:`;
    const tail = '}:events';
    return key.startsWith(head) && key.endsWith(tail) ? key.slice(head.length, -tail.length) : undefined;
  }

  /** Pattern matching every key this platform wrote, for SCAN. */
  get everything(): string {
    return `${this.prefix}:*`;
  }

  /** Key prefix of one rate limiter (rate-limiter-flexible appends the limited key, such as an org id). */
  rateLimit(name: string): string {
    // Untagged even on a cluster: each limited key is used alone, so they may spread over every slot.
    return [this.prefix, 'platform', 'rate', name].join(':');
  }

  /** Realtime sockets of the org held open on any API process (a sorted set scored by lease expiry). */
  orgSockets(orgId: string): string {
    return this.org(orgId, 'rt', 'sockets');
  }

  /** Realtime sockets of one token of the org (same shape as orgSockets, same hash slot). */
  tokenSockets(orgId: string, tokenId: string): string {
    return this.org(orgId, 'rt', 'token-sockets', tokenId);
  }

  /** Subscriptions each realtime socket of the org holds (a hash: socket slot → count). */
  orgSubscriptions(orgId: string): string {
    return this.org(orgId, 'rt', 'subscriptions');
  }

  /**
   * One of an org's task outboxes: sorted sets of task ids (scored by when they are due)
   * whose hand-off is still to do — `enqueue` (the run job), `persist` (the history),
   * `remove` (a cancelled task's job).
   */
  taskOutbox(orgId: string, kind: 'enqueue' | 'persist' | 'remove'): string {
    return this.org(orgId, 'task-outbox', kind);
  }

  /** Every org that ever had a task: where the outbox reconciler looks. */
  get taskOrgs(): string {
    return this.platform('task-orgs');
  }

  /** Pub/sub channel telling persisters an org has finished tasks to write. */
  get taskPersistChannel(): string {
    return this.platform('task-persist');
  }
}
