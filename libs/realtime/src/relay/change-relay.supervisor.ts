import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RedisConnection, RedisKeys } from '#libs/redis';
import {
  CredentialCipher,
  OrgConnection,
  OrgRegistryRepository,
  OrgRelayStates,
  RelayCensus,
  relaySlotOf,
  type ClusterCensus,
  type OrgWithInstance,
  type RelayStateRecord,
} from '#libs/registry';
import { OrgEventStream } from '#libs/event-stream';
import { RedisLease } from '../redis-lease.js';
import type { ChangeSource } from './change-source.js';
import { SupabaseChangeRelay } from './supabase-change.relay.js';
import { WalChangeRelay } from './wal-change.relay.js';
import { CAPACITY_ERRORS, RelaySlots, type RelayCapture } from './relay-slots.js';

interface HeldRelay {
  lease: RedisLease;
  renewal: NodeJS.Timeout;
  /** Set while the feed runs; unset while the org waits for capacity or a retry after an error. */
  source?: ChangeSource;
  state?: RelayStateRecord;
}

/**
 * Runs the change relay of READY orgs that publish something, in this API process: for
 * each, whichever replica takes the org's Redis lease relays it (one replication slot per
 * org, however many replicas); the others stand by and take over when the lease lapses.
 * Every REALTIME_RELAY_POLL_MS it reads the registry and one census per cluster (capacity,
 * slots, and which org databases publish a table): an org with nothing published holds no
 * slot and no WAL sender; one that wants a relay where the cluster has no capacity left is
 * recorded NO_CAPACITY, never silently left without realtime.
 */
@Injectable()
export class ChangeRelaySupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly relays = new Map<string, HeldRelay>();
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
    private readonly census: RelayCensus,
    private readonly states: OrgRelayStates,
    private readonly slots: RelaySlots,
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
    return [...this.relays].filter(([, relay]) => relay.source).map(([orgId]) => orgId);
  }

  private pollOnce(): void {
    this.polling ??= this.poll()
      .catch((error: Error) => this.logger.warn({ err: error }, 'change relay: reading the registry failed; next poll retries'))
      .finally(() => (this.polling = undefined));
  }

  private async poll(): Promise<void> {
    const ready = (await this.registry.findByStatus(['READY'])).filter(({ org }) => !org.deletedAt);
    const live = new Set(ready.map(({ org }) => org.id));
    for (const orgId of this.relays.keys()) {
      if (!live.has(orgId)) await this.release(orgId, { reason: 'org no longer READY', forget: true });
    }
    const census = await this.census.readAll(true);
    for (const entry of ready) {
      if (this.closed) return;
      const cluster = this.clusterCensus(entry, census);
      if (!this.wantsRelay(entry, cluster)) {
        await this.idle(entry, cluster);
        continue;
      }
      const held = this.relays.get(entry.org.id) ?? (await this.take(entry.org.id));
      if (held && !held.source) await this.start(entry, held, cluster);
    }
  }

  /** The census of the org's cluster; an Error when it could not be read; undefined for an adopted database. */
  private clusterCensus({ instance }: OrgWithInstance, census: Map<string, ClusterCensus | Error>): ClusterCensus | Error | undefined {
    if (instance.driver !== 'cluster' || instance.realtimeSource !== 'wal') return undefined;
    return census.get(instance.cluster!) ?? new Error(`cluster "${instance.cluster}" is not configured in ORG_CLUSTER_URLS`);
  }

  /** Supabase-sourced and adopted databases always relay; a cluster database only while its publication holds a table. */
  private wantsRelay({ instance }: OrgWithInstance, cluster: ClusterCensus | Error | undefined): boolean {
    if (!cluster || cluster instanceof Error) return true;
    return cluster.markers.get(instance.databaseName!) !== 'off';
  }

  /** Nothing published: stop relaying and drop the slot, so the org holds no slot, no WAL sender and no WAL. */
  private async idle({ org, instance }: OrgWithInstance, cluster: ClusterCensus | Error | undefined): Promise<void> {
    if (this.relays.has(org.id)) await this.release(org.id, { reason: 'nothing published', forget: true });
    if (cluster && !(cluster instanceof Error) && relaySlotOf(cluster, instance.databaseName!)?.active === false) {
      await this.census
        .dropInactiveSlots(cluster.cluster, instance.databaseName!)
        .catch((error: Error) =>
          this.logger.warn({ org: org.id, err: error }, 'could not drop the slot of an idle org; the next poll retries'),
        );
    }
  }

  private async take(orgId: string): Promise<HeldRelay | undefined> {
    const ttl = this.config.REALTIME_RELAY_LEASE_MS;
    const lease = new RedisLease(
      this.redis.client,
      this.keys.org(orgId, 'relay', 'lease'),
      this.keys.org(orgId, 'relay', 'fence'),
      this.owner,
      ttl,
    );
    if (!(await lease.acquire())) return undefined;
    const renewal = setInterval(() => void this.renew(orgId), Math.max(1, Math.floor(ttl / 3)));
    renewal.unref();
    const held: HeldRelay = { lease, renewal };
    this.relays.set(orgId, held);
    return held;
  }

  private async start(entry: OrgWithInstance, held: HeldRelay, cluster: ClusterCensus | Error | undefined): Promise<void> {
    const { org } = entry;
    if (cluster instanceof Error) return this.setState(org.id, held, { state: 'ERROR', error: `cluster unreachable: ${cluster.message}` });
    const slot = cluster && relaySlotOf(cluster, entry.instance.databaseName!);
    if (cluster && slot?.walStatus === 'lost' && !slot.active) {
      // Past max_slot_wal_keep_size the server gave the slot up: it can never be read again, so start afresh.
      this.logger.warn(
        { org: org.id, slot: slot.name },
        'replication slot lost its WAL (max_slot_wal_keep_size); changes since are not relayed',
      );
      await this.census.dropInactiveSlots(cluster.cluster, entry.instance.databaseName!);
      return;
    }
    let capture: RelayCapture;
    try {
      capture = await this.slots.ensure(entry, cluster);
    } catch (error) {
      return this.failedToStart(org.id, held, error as Error);
    }
    // Another process is creating a slot on this cluster: the next poll tries again.
    if (capture.state === 'busy') return;
    if (capture.state === 'no-capacity') return this.setState(org.id, held, { state: 'NO_CAPACITY', error: capture.error });
    const source = this.source(entry, held.lease);
    held.source = source;
    try {
      await source.start();
    } catch (error) {
      held.source = undefined;
      await source.stop().catch(() => undefined);
      return this.failedToStart(org.id, held, error as Error);
    }
    this.logger.info({ org: org.id, slug: org.slug }, 'relaying org database changes');
    await this.setState(org.id, held, { state: 'RELAYING' });
  }

  private async failedToStart(orgId: string, held: HeldRelay, error: Error): Promise<void> {
    const code = (error as { code?: string }).code;
    const state = code && CAPACITY_ERRORS.has(code) ? 'NO_CAPACITY' : 'ERROR';
    this.logger.warn({ org: orgId, err: error, state }, 'change relay could not start; the next poll retries');
    await this.setState(orgId, held, { state, error: error.message });
  }

  private source({ org, instance }: OrgWithInstance, lease: RedisLease): ChangeSource {
    const onFailed = (error: Error) => {
      this.logger.warn({ org: org.id, err: error }, 'change relay stopped; the org is taken up again at a next poll');
      void this.stopped(org.id, error);
    };
    return instance.realtimeSource === 'supabase'
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
  }

  /** A running feed stopped on its own: keep the lease, report the error, start again at the next poll. */
  private async stopped(orgId: string, error: Error): Promise<void> {
    const held = this.relays.get(orgId);
    if (!held?.source) return;
    const source = held.source;
    held.source = undefined;
    await source.stop().catch(() => undefined);
    await this.setState(orgId, held, { state: 'ERROR', error: error.message }).catch(() => undefined);
  }

  /** Records the relay's state (renewed with the lease) and tells the `orgs` topic when it changed. */
  private async setState(orgId: string, held: HeldRelay, state: RelayStateRecord): Promise<void> {
    await this.states.record(orgId, state, this.stateTtl());
    const changed = held.state?.state !== state.state || held.state?.error !== state.error;
    held.state = state;
    if (changed) await this.registry.announce(orgId);
  }

  private stateTtl(): number {
    return this.config.REALTIME_RELAY_LEASE_MS + this.config.REALTIME_RELAY_POLL_MS * 2;
  }

  private async renew(orgId: string): Promise<void> {
    const relay = this.relays.get(orgId);
    if (!relay) return;
    const renewed = await relay.lease.renew().catch(() => false);
    if (!renewed) return this.release(orgId, { reason: 'relay lease lost' });
    if (relay.state) await this.states.record(orgId, relay.state, this.stateTtl()).catch(() => undefined);
  }

  /** Stops relaying the org; with `forget`, its recorded state goes too (it is idle or gone) and the `orgs` topic is told. */
  private async release(orgId: string, options: { reason?: string; forget?: boolean } = {}): Promise<void> {
    const relay = this.relays.get(orgId);
    if (!relay) return;
    this.relays.delete(orgId);
    clearInterval(relay.renewal);
    if (options.reason) this.logger.info({ org: orgId, reason: options.reason }, 'stopped relaying org database changes');
    await relay.source?.stop().catch(() => undefined);
    if (options.forget) {
      await this.states.clear(orgId).catch(() => undefined);
      await this.registry.announce(orgId).catch(() => undefined);
    }
    await relay.lease.release().catch(() => undefined);
  }
}
