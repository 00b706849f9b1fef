import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { PlatformConfig } from '#libs/config';
import { OrgClusters } from './org-clusters.js';

/** Prefix of the replication slot the platform's WAL relay holds in an org database. */
export const RELAY_SLOT_PREFIX = 'platform_rt_';
/** Database-level setting the org database's event trigger keeps: `on` while its realtime publication holds a table. */
export const REALTIME_MARKER = 'platform.realtime';

/** One replication slot on a cluster, with the WAL it holds back. */
export interface ReplicationSlotInfo {
  name: string;
  database: string | null;
  active: boolean;
  /** WAL written since the slot's consumer last confirmed (what a subscriber is behind by). */
  lagBytes: number;
  /** WAL the server keeps on disk for this slot (from its restart point). */
  retainedBytes: number;
  /** `reserved`, `extended`, `unreserved` or `lost` (past max_slot_wal_keep_size). */
  walStatus: string | null;
}

/** What one cluster can hold of relays now, and which org databases want one. */
export interface ClusterCensus {
  cluster: string;
  maxReplicationSlots: number;
  maxWalSenders: number;
  /** Relays this cluster may hold: min(max_replication_slots, max_wal_senders) minus REALTIME_SLOT_RESERVE. */
  capacity: number;
  /** capacity minus every replication slot on the cluster (ours or not); may be negative. */
  free: number;
  slots: ReplicationSlotInfo[];
  /** Org database → `on` or `off`: whether its publication holds a table (absent: not known, treat as wanted). */
  markers: Map<string, string>;
}

/** One relay slot per org: an org's slot is the platform slot in its database. */
export function relaySlotOf(census: ClusterCensus, database: string): ReplicationSlotInfo | undefined {
  return census.slots.find((slot) => slot.database === database && slot.name.startsWith(RELAY_SLOT_PREFIX));
}

/** How long one census read answers other readers. */
const CENSUS_REUSE_MS = 1000;

const CENSUS_SQL = `
  SELECT current_setting('max_replication_slots')::int AS max_slots,
         current_setting('max_wal_senders')::int AS max_senders,
         coalesce((SELECT json_agg(json_build_object(
                     'name', slot_name, 'database', database, 'active', active, 'walStatus', wal_status,
                     'lagBytes', coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0),
                     'retainedBytes', coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)))
                     FROM pg_replication_slots), '[]') AS slots,
         coalesce((SELECT json_object_agg(d.datname, substr(c, length($1) + 2))
                     FROM pg_db_role_setting s
                     JOIN pg_database d ON d.oid = s.setdatabase
                     CROSS JOIN LATERAL unnest(s.setconfig) AS c
                    WHERE s.setrole = 0 AND c LIKE $1 || '=%'), '{}') AS markers`;

interface CensusRow {
  max_slots: number;
  max_senders: number;
  slots: ReplicationSlotInfo[];
  markers: Record<string, string>;
}

/**
 * Reads, in one query per cluster, every cluster's relay capacity, its replication slots
 * and which org databases want a relay: the same few catalog rows whatever the number of
 * orgs, so the relay supervisor, placement, the admin API, metrics and health can all ask.
 */
@Injectable()
export class RelayCensus implements OnApplicationShutdown {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly recent = new Map<string, { at: number; census: Promise<ClusterCensus> }>();

  constructor(
    private readonly clusters: OrgClusters,
    private readonly config: PlatformConfig,
  ) {}

  /**
   * The census of `cluster`; rejects when it cannot be reached. Readers asking within
   * CENSUS_REUSE_MS of each other share one query (an admin listing, a health probe and a
   * burst of status events cost the cluster one catalog read); `fresh` always asks anew.
   */
  read(cluster: string, fresh = false): Promise<ClusterCensus> {
    const cached = this.recent.get(cluster);
    if (!fresh && cached && Date.now() - cached.at < CENSUS_REUSE_MS) return cached.census;
    const census = this.query(cluster);
    this.recent.set(cluster, { at: Date.now(), census });
    census.catch(() => this.recent.delete(cluster));
    return census;
  }

  private async query(cluster: string): Promise<ClusterCensus> {
    const { rows } = await this.pool(cluster).query<CensusRow>(CENSUS_SQL, [REALTIME_MARKER]);
    const row = rows[0]!;
    const slots = row.slots.map((slot) => ({ ...slot, lagBytes: Number(slot.lagBytes), retainedBytes: Number(slot.retainedBytes) }));
    const capacity = Math.max(0, Math.min(row.max_slots, row.max_senders) - this.config.REALTIME_SLOT_RESERVE);
    return {
      cluster,
      maxReplicationSlots: row.max_slots,
      maxWalSenders: row.max_senders,
      capacity,
      free: capacity - slots.length,
      slots,
      markers: new Map(Object.entries(row.markers)),
    };
  }

  /** Every configured cluster's census, or the error that kept it from being read; `fresh` as for `read`. */
  async readAll(fresh = false): Promise<Map<string, ClusterCensus | Error>> {
    const entries = await Promise.all(
      this.clusters.names.map(async (name) => [name, await this.read(name, fresh).catch((error: Error) => error)] as const),
    );
    return new Map(entries);
  }

  /** Drops the inactive replication slots of `database` on `cluster` (a relay that will not run there again). */
  async dropInactiveSlots(cluster: string, database: string): Promise<void> {
    await this.pool(cluster).query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND slot_name LIKE $2 AND NOT active`,
      [database, `${RELAY_SLOT_PREFIX}%`],
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }

  private pool(cluster: string): pg.Pool {
    let pool = this.pools.get(cluster);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: this.clusters.adminUrl(cluster),
        max: 1,
        idleTimeoutMillis: Math.max(10_000, this.config.REALTIME_RELAY_POLL_MS * 3),
        connectionTimeoutMillis: this.config.CONNECT_TIMEOUT_MS,
      });
      // A restarted server surfaces on the next query; an idle client's error must not crash the process.
      pool.on('error', () => undefined);
      this.pools.set(cluster, pool);
    }
    return pool;
  }
}
