import { Inject, Module, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { SingleFlight } from '#libs/runtime';
import {
  OrgConnection,
  OrgRegistryRepository,
  RegistryModule,
  RelayCensus,
  relaySlotOf,
  type ClusterCensus,
  type OrgWithInstance,
} from '#libs/registry';
import { RedisLease } from '../redis-lease.js';

/** Postgres refusals meaning the cluster has no replication slot or WAL sender left. */
export const CAPACITY_ERRORS = new Set(['53400', '53300']);

/** Waits between tries for a cluster's capacity lock another process holds while it creates a slot. */
const CAPACITY_LOCK_RETRY_MS = 50;

/** The replication slot of an org: one per org database, whatever the number of API replicas. */
export function relaySlotName(orgId: string): string {
  return `platform_rt_${orgId.toLowerCase().replace(/[^a-z0-9_]/g, '')}`.slice(0, 63);
}

/**
 * Whether an org's database changes are captured: `captured` once its replication slot exists
 * (every change committed from then on is kept in the WAL until a relay stores it), `no-capacity`
 * when its cluster has no slot left, `not-wal` when its changes come from elsewhere (Supabase
 * Realtime), `busy` when another process held the cluster's capacity lock throughout.
 */
export type RelayCapture = { state: 'captured' | 'not-wal' | 'busy' } | { state: 'no-capacity'; error: string };

/**
 * The one place that creates an org's replication slot, serialised per cluster across
 * processes by a capacity lock so two creators cannot both take the cluster's last free
 * place. The relay supervisor asks it before it starts a relay; a trigger asks it before it
 * answers, so a change committed right after its creation is relayed even when the relay
 * itself starts a poll later.
 */
@Injectable()
export class RelaySlots {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly connections: OrgConnection,
    private readonly census: RelayCensus,
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {}

  /**
   * Makes sure the org's changes are captured from now on, waiting for another creator on its
   * cluster if need be (with `patient` false, `busy` at once instead).
   */
  async capture(orgId: string, patient = true): Promise<RelayCapture> {
    const entry = await this.registry.findById(orgId);
    if (!entry) return { state: 'not-wal' };
    const deadline = patient ? Date.now() + this.lockTtl() : 0;
    for (;;) {
      const capture = await this.ensure(entry);
      if (capture.state !== 'busy' || Date.now() > deadline) return capture;
      await delay(CAPACITY_LOCK_RETRY_MS);
    }
  }

  /**
   * Creates the org's slot unless it exists. `census` is its cluster's census when the caller
   * has one (read here otherwise, and again under the lock before a slot is taken); an
   * adopted database has no cluster and no capacity to count.
   */
  async ensure({ org, instance }: OrgWithInstance, census?: ClusterCensus): Promise<RelayCapture> {
    if (instance.realtimeSource !== 'wal') return { state: 'not-wal' };
    const create = () => this.create(this.connections.adminUrl(instance), relaySlotName(org.id));
    if (instance.driver !== 'cluster') return create();
    const cluster = instance.cluster!;
    const known = census ?? (await this.census.read(cluster, true));
    if (relaySlotOf(known, instance.databaseName!)) return { state: 'captured' };
    if (known.free <= 0) return { state: 'no-capacity', error: noCapacity(known) };
    const lock = new RedisLease(
      this.redis.client,
      this.keys.platform('relay', 'capacity', cluster),
      this.keys.platform('relay', 'capacity-fence'),
      this.owner,
      this.lockTtl(),
    );
    if (!(await lock.acquire())) return { state: 'busy' };
    try {
      // Read again under the lock: the slot made here is counted by the next taker.
      const fresh = await this.census.read(cluster, true);
      if (relaySlotOf(fresh, instance.databaseName!)) return { state: 'captured' };
      if (fresh.free <= 0) return { state: 'no-capacity', error: noCapacity(fresh) };
      return await create();
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  /** Creates the slot; a server with no slot or WAL sender left is `no-capacity`, any other refusal throws. */
  private async create(adminUrl: string, slot: string): Promise<RelayCapture> {
    try {
      await createSlot(adminUrl, slot, this.config.CONNECT_TIMEOUT_MS);
      return { state: 'captured' };
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      if (!code || !CAPACITY_ERRORS.has(code)) throw error;
      return { state: 'no-capacity', error: message };
    }
  }

  private lockTtl(): number {
    return this.config.CONNECT_TIMEOUT_MS * 2;
  }
}

/**
 * For a subscription to an org's tables (a Socket.IO `table` topic, a Supabase
 * `postgres_changes` binding), asked before it is answered: the org's changes are captured
 * from then on, so a change committed right after the answer is relayed even when the org
 * had no relay yet (its first table is new) and its relay starts a poll later. An org found
 * captured is not asked about again for REALTIME_RELAY_POLL_MS in this process.
 */
@Injectable()
export class ChangeCapture {
  /** Orgs asked about, until when (ms) that answer stands. */
  private readonly captured = new Map<string, number>();
  /** Orgs being asked about now: subscriptions arriving meanwhile wait for the same answer. */
  private readonly asking = new SingleFlight<string>();

  constructor(
    private readonly slots: RelaySlots,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** Never throws: a subscription is answered all the same, its changes relayed once the relay runs. */
  ensure(orgId: string): Promise<void> {
    if ((this.captured.get(orgId) ?? 0) > Date.now()) return Promise.resolve();
    this.captured.delete(orgId);
    return this.asking.run(orgId, () => this.ask(orgId));
  }

  private async ask(orgId: string): Promise<void> {
    try {
      // Not waiting for another creator on the cluster: a subscription is not held up for it.
      const capture = await this.slots.capture(orgId, false);
      // Whatever the answer, not asked again before the relay supervisor's next poll, which retries a capture itself.
      this.captured.set(orgId, Date.now() + this.config.REALTIME_RELAY_POLL_MS);
      if (capture.state === 'captured' || capture.state === 'not-wal') return;
      this.logger.warn({ org: orgId, capture }, 'subscription answered while its org database changes are not yet captured');
    } catch (error) {
      this.logger.warn({ org: orgId, err: (error as Error).message }, 'could not make sure a subscribed org database is captured');
    }
  }
}

/** The capacity and slot creation of the relays, without the relays themselves (a worker may ask too). */
@Module({ imports: [RegistryModule], providers: [RelaySlots, ChangeCapture], exports: [RelaySlots, ChangeCapture] })
export class RelaySlotsModule {}

function noCapacity(census: ClusterCensus): string {
  return (
    `cluster "${census.cluster}" has no relay capacity left: ${census.slots.length} replication slots in use of ` +
    `${census.capacity} (min(max_replication_slots=${census.maxReplicationSlots}, max_wal_senders=${census.maxWalSenders}) ` +
    `minus REALTIME_SLOT_RESERVE)`
  );
}

/** Creates the org's logical replication slot (pgoutput) unless it exists. */
async function createSlot(adminUrl: string, slot: string, connectTimeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (rowCount === 0) {
      await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]).catch((error: { code?: string }) => {
        // Another process may have created it meanwhile.
        if (error.code !== '42710') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
