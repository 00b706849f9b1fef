import { Injectable } from '@nestjs/common';
import { OrgRegistryRepository } from './org-registry.repository.js';
import { OrgRelayStates, RELAY_STATES, type RealtimeView, type RelayState } from './org-relay-states.js';
import { RELAY_SLOT_PREFIX, RelayCensus, type ClusterCensus } from './relay-census.js';

/** One org cluster's relay capacity as reported. */
export interface ClusterRelayCapacity {
  cluster: string;
  reachable: boolean;
  capacity?: number;
  used?: number;
  free?: number;
  maxReplicationSlots?: number;
  maxWalSenders?: number;
  error?: string;
}

/** A platform replication slot whose relay is not running, and the WAL it keeps on disk meanwhile. */
export interface HeldBackSlot {
  cluster: string;
  slot: string;
  database: string | null;
  /** The org it belongs to, if a READY org does. */
  org?: string;
  retainedBytes: number;
  walStatus: string | null;
}

export interface RelayReportSnapshot {
  clusters: ClusterRelayCapacity[];
  /** READY orgs per relay state. */
  states: Record<RelayState, number>;
  orgs: { id: string; slug: string; realtime: RealtimeView }[];
  heldBackSlots: HeldBackSlot[];
}

/** The relays of every READY org and every cluster's capacity, for /metrics and /health/ready: one census per cluster. */
@Injectable()
export class RelayReport {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly census: RelayCensus,
    private readonly relayStates: OrgRelayStates,
  ) {}

  async read(): Promise<RelayReportSnapshot> {
    const [ready, census] = await Promise.all([this.registry.findByStatus(['READY']), this.census.readAll()]);
    const views = await this.relayStates.views(ready, census);
    const states = Object.fromEntries(RELAY_STATES.map((state) => [state, 0])) as Record<RelayState, number>;
    const orgs = ready.flatMap(({ org }) => {
      const realtime = views.get(org.id);
      if (!realtime) return [];
      states[realtime.state] += 1;
      return [{ id: org.id, slug: org.slug, realtime }];
    });
    const relaying = new Map(orgs.map((entry) => [entry.id, entry.realtime.state === 'RELAYING']));
    const byDatabase = new Map(
      ready
        .filter(({ instance }) => instance.databaseName)
        .map((entry) => [`${entry.instance.cluster}/${entry.instance.databaseName}`, entry]),
    );
    const clusters: ClusterRelayCapacity[] = [];
    const heldBackSlots: HeldBackSlot[] = [];
    for (const [cluster, entry] of census) {
      if (entry instanceof Error) {
        clusters.push({ cluster, reachable: false, error: entry.message });
        continue;
      }
      clusters.push(capacityOf(entry));
      for (const slot of entry.slots) {
        if (!slot.name.startsWith(RELAY_SLOT_PREFIX)) continue;
        const owner = byDatabase.get(`${cluster}/${slot.database}`);
        if (slot.active && owner && relaying.get(owner.org.id)) continue;
        heldBackSlots.push({
          cluster,
          slot: slot.name,
          database: slot.database,
          ...(owner ? { org: owner.org.slug } : {}),
          retainedBytes: slot.retainedBytes,
          walStatus: slot.walStatus,
        });
      }
    }
    return { clusters, states, orgs, heldBackSlots };
  }
}

function capacityOf(census: ClusterCensus): ClusterRelayCapacity {
  return {
    cluster: census.cluster,
    reachable: true,
    capacity: census.capacity,
    used: census.slots.length,
    free: census.free,
    maxReplicationSlots: census.maxReplicationSlots,
    maxWalSenders: census.maxWalSenders,
  };
}
