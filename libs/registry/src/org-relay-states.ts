import { Injectable } from '@nestjs/common';
import { RedisConnection, RedisKeys } from '#libs/redis';
import type { OrgWithInstance } from './org-instance.js';
import { relaySlotOf, RelayCensus, type ClusterCensus } from './relay-census.js';

export const RELAY_STATES = ['RELAYING', 'IDLE', 'NO_CAPACITY', 'ERROR'] as const;
/** Whether an org's row changes reach its event stream: RELAYING, IDLE (nothing published: no slot held), or why not. */
export type RelayState = (typeof RELAY_STATES)[number];

/** What the relay holding an org's lease last reported. */
export interface RelayStateRecord {
  state: RelayState;
  error?: string;
}

/** An org's relay as the admin API, the `orgs` topic, metrics and health show it. */
export interface RealtimeView {
  state: RelayState;
  /** WAL written since the relay last confirmed; 0 without a slot. */
  lagBytes: number;
  /** WAL the server keeps on disk for a slot whose relay is not running. */
  retainedBytes?: number;
  error?: string;
}

const NOBODY_RELAYS = 'no API process relays this org: REALTIME_RELAY is off everywhere, or none has taken it up yet';

/**
 * Each org's relay state: the process relaying an org records it in Redis (with a TTL it
 * renews with its lease, so a dead process's claim lapses); the slot and its WAL come from
 * the cluster census. Read by any API replica, whichever one relays the org.
 */
@Injectable()
export class OrgRelayStates {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly census: RelayCensus,
  ) {}

  /** Records the state of the org's relay, valid for `ttlMs` unless recorded again. */
  async record(orgId: string, record: RelayStateRecord, ttlMs: number): Promise<void> {
    await this.redis.client.set(this.key(orgId), JSON.stringify(record), 'PX', ttlMs);
  }

  /** Forgets the org's relay state (it holds no relay any more). */
  async clear(orgId: string): Promise<void> {
    await this.redis.client.del(this.key(orgId));
  }

  /** The realtime view of each READY org in `entries` (other orgs have none), with one census per cluster involved. */
  async views(entries: OrgWithInstance[], census?: Map<string, ClusterCensus | Error>): Promise<Map<string, RealtimeView>> {
    const ready = entries.filter(({ instance }) => instance.status === 'READY');
    if (ready.length === 0) return new Map();
    const clusters = census ?? (await this.censusOf(ready));
    const records = await Promise.all(ready.map(({ org }) => this.redis.client.get(this.key(org.id))));
    return new Map(ready.map((entry, i) => [entry.org.id, this.view(entry, records[i] ?? null, clusters)]));
  }

  private view({ instance }: OrgWithInstance, stored: string | null, clusters: Map<string, ClusterCensus | Error>): RealtimeView {
    const record = stored ? (JSON.parse(stored) as RelayStateRecord) : undefined;
    const cluster = instance.cluster ? clusters.get(instance.cluster) : undefined;
    const census = cluster instanceof Error ? undefined : cluster;
    const slot = census && instance.databaseName ? relaySlotOf(census, instance.databaseName) : undefined;
    const marker = census && instance.databaseName ? census.markers.get(instance.databaseName) : undefined;
    const wanted = instance.realtimeSource === 'supabase' || marker !== 'off';
    const state: RelayState = record?.state ?? (wanted ? 'ERROR' : 'IDLE');
    const error = record ? record.error : wanted ? NOBODY_RELAYS : undefined;
    return {
      state,
      lagBytes: slot?.lagBytes ?? 0,
      ...(slot && state !== 'RELAYING' ? { retainedBytes: slot.retainedBytes } : {}),
      ...(error ? { error } : {}),
    };
  }

  private async censusOf(entries: OrgWithInstance[]): Promise<Map<string, ClusterCensus | Error>> {
    const names = [...new Set(entries.map(({ instance }) => instance.cluster).filter((name): name is string => !!name))];
    const read = await Promise.all(names.map(async (name) => [name, await this.census.read(name).catch((error: Error) => error)] as const));
    return new Map(read);
  }

  private key(orgId: string): string {
    return this.keys.org(orgId, 'relay', 'state');
  }
}
