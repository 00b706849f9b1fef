import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { CredentialCipher, OrgConnection, OrgRegistryRepository, type OrgWithInstance } from '#libs/registry';
import { OrgEventStream } from '../org-event-stream.service.js';
import { RedisLease } from '../redis-lease.js';
import type { ChangeSource } from './change-source.js';
import { SupabaseChangeRelay } from './supabase-change.relay.js';
import { WalChangeRelay } from './wal-change.relay.js';

interface RunningRelay {
  lease: RedisLease;
  source: ChangeSource;
  renewal: NodeJS.Timeout;
}

/**
 * Runs the change relay of READY orgs in this API process: for each, whichever replica
 * takes the org's Redis lease relays it (one replication slot per org, however many
 * replicas); the others stand by and take over when the lease lapses. Polls the registry
 * every REALTIME_RELAY_POLL_MS, so new orgs are picked up and deprovisioned ones released
 * without a restart.
 */
@Injectable()
export class ChangeRelaySupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly relays = new Map<string, RunningRelay>();
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private closed = false;

  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly connections: OrgConnection,
    private readonly cipher: CredentialCipher,
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.REALTIME_RELAY === 'off') return;
    this.timer = setInterval(() => this.pollOnce(), this.config.REALTIME_RELAY_POLL_MS);
    this.timer.unref();
    this.pollOnce();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.polling;
    await Promise.all([...this.relays.keys()].map((orgId) => this.release(orgId)));
  }

  /** Org ids this process relays now. */
  relayedOrgs(): string[] {
    return [...this.relays.keys()];
  }

  private pollOnce(): void {
    this.polling ??= this.poll()
      .catch((error: Error) => this.logger.warn({ err: error }, 'change relay: reading the registry failed; next poll retries'))
      .finally(() => (this.polling = undefined));
  }

  private async poll(): Promise<void> {
    const ready = await this.registry.findByStatus(['READY']);
    const live = new Set(ready.filter(({ org }) => !org.deletedAt).map(({ org }) => org.id));
    for (const orgId of this.relays.keys()) {
      if (!live.has(orgId)) await this.release(orgId, 'org no longer READY');
    }
    for (const entry of ready) {
      if (this.closed) return;
      if (live.has(entry.org.id) && !this.relays.has(entry.org.id)) await this.tryTake(entry);
    }
  }

  private async tryTake({ org, instance }: OrgWithInstance): Promise<void> {
    const ttl = this.config.REALTIME_RELAY_LEASE_MS;
    const lease = new RedisLease(
      this.redis.client,
      this.keys.org(org.id, 'relay', 'lease'),
      this.keys.org(org.id, 'relay', 'fence'),
      this.owner,
      ttl,
    );
    if (!(await lease.acquire())) return;
    const onFailed = (error: Error) => {
      this.logger.warn({ org: org.id, err: error }, 'change relay stopped; the org is taken up again at a next poll');
      void this.release(org.id);
    };
    const source: ChangeSource =
      instance.realtimeSource === 'supabase'
        ? new SupabaseChangeRelay({
            orgId: org.id,
            url: instance.supabaseUrl!,
            key: this.cipher.decrypt<{ key: string }>(instance.supabaseKeyEncrypted!).key,
            connectTimeoutMs: this.config.CONNECT_TIMEOUT_MS,
            stream: this.stream,
            lease,
            logger: this.logger,
            onFailed,
          })
        : new WalChangeRelay({
            orgId: org.id,
            adminUrl: this.connections.adminUrl(instance),
            connectTimeoutMs: this.config.CONNECT_TIMEOUT_MS,
            stream: this.stream,
            lease,
            redis: this.redis.client,
            checkpointKey: this.keys.org(org.id, 'relay', 'checkpoint'),
            logger: this.logger,
            onFailed,
          });
    const renewal = setInterval(() => void this.renew(org.id), Math.max(1, Math.floor(ttl / 3)));
    renewal.unref();
    this.relays.set(org.id, { lease, source, renewal });
    try {
      await source.start();
      this.logger.info({ org: org.id, slug: org.slug }, 'relaying org database changes');
    } catch (error) {
      this.logger.warn({ org: org.id, err: error }, 'change relay could not start; the next poll retries');
      await this.release(org.id);
    }
  }

  private async renew(orgId: string): Promise<void> {
    const relay = this.relays.get(orgId);
    if (!relay) return;
    const renewed = await relay.lease.renew().catch(() => false);
    if (!renewed) await this.release(orgId, 'relay lease lost');
  }

  private async release(orgId: string, reason?: string): Promise<void> {
    const relay = this.relays.get(orgId);
    if (!relay) return;
    this.relays.delete(orgId);
    clearInterval(relay.renewal);
    if (reason) this.logger.info({ org: orgId, reason }, 'stopped relaying org database changes');
    await relay.source.stop().catch(() => undefined);
    await relay.lease.release().catch(() => undefined);
  }
}
