import type { Redis } from 'ioredis';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Logger } from '#libs/logging';
import { REALTIME_PUBLICATION } from '#libs/registry';
import type { NewEvent, OrgEventStream } from '#libs/event-stream';
import type { RedisLease } from '../redis-lease.js';
import type { ChangeSource, SourceFailed } from './change-source.js';
import { relaySlotName } from './relay-slots.js';
import { compareLsn, rowChangeEvent, type RowChangeKind } from './row-change.js';

/** Row changes appended to the stream in one atomic step; a bigger transaction is appended in several. */
const APPEND_BATCH = 500;

export interface WalRelayOptions {
  orgId: string;
  /** Cluster-admin URL on the org database: replication needs the REPLICATION attribute. */
  adminUrl: string;
  connectTimeoutMs: number;
  stream: OrgEventStream;
  lease: RedisLease;
  redis: Redis;
  /** Redis key of the commit LSN of the last transaction stored, to skip replays after a restart. */
  checkpointKey: string;
  logger: Logger;
  onFailed: SourceFailed;
}

type Step = { kind: 'message'; lsn: string; message: Pgoutput.Message } | { kind: 'keepalive'; lsn: string };

const toIso = (microseconds: bigint) => new Date(Number(microseconds / 1000n)).toISOString();

/**
 * Relays one org database's committed row changes (logical replication, pgoutput, the
 * `platform_realtime` publication) into its event stream. A transaction's events are
 * stored (fenced by the relay lease) before its LSN is acknowledged, so a crash replays
 * it rather than losing it; replays up to the stored checkpoint are skipped.
 */
export class WalChangeRelay implements ChangeSource {
  private service?: LogicalReplicationService;
  private chain: Promise<void> = Promise.resolve();
  private transaction?: { commitTimestamp: string; events: NewEvent[] };
  private checkpoint?: string;
  private stopped = false;

  constructor(private readonly options: WalRelayOptions) {}

  async start(): Promise<void> {
    const { adminUrl, orgId, connectTimeoutMs } = this.options;
    // The slot exists: RelaySlots made it before this relay was started.
    const slot = relaySlotName(orgId);
    this.checkpoint = (await this.options.redis.get(this.options.checkpointKey)) ?? undefined;
    // Acknowledged only by hand, after storing: the library's timer would confirm what was merely received.
    const service = new LogicalReplicationService(
      { connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs },
      { acknowledge: { auto: false, timeoutSeconds: 0 } },
    );
    this.service = service;
    service.on('data', (lsn: string, message: Pgoutput.Message) => this.enqueue({ kind: 'message', lsn, message }));
    service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      if (shouldRespond) this.enqueue({ kind: 'keepalive', lsn });
    });
    service.on('error', (error: Error) => this.fail(error));
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const streaming = service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [REALTIME_PUBLICATION] }), slot);
    streaming.then(
      () => this.fail(new Error('replication stream ended')),
      (error: Error) => this.fail(error),
    );
    await Promise.race([started, streaming.then(() => Promise.reject(new Error('replication stream ended before it started')))]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.service?.destroy().catch(() => undefined);
  }

  private enqueue(step: Step): void {
    // One step at a time, in arrival order: a keepalive is answered only after every change before it is stored.
    this.chain = this.chain.then(() => (this.stopped ? undefined : this.handle(step))).catch((error: Error) => this.fail(error));
  }

  private async handle(step: Step): Promise<void> {
    if (step.kind === 'keepalive') {
      // Nothing half-received: everything the server sent before this point is stored, so it may be confirmed.
      if (!this.transaction) await this.service?.acknowledge(step.lsn);
      return;
    }
    const message = step.message;
    switch (message.tag) {
      case 'begin':
        this.transaction = { commitTimestamp: toIso(message.commitTime as bigint), events: [] };
        return;
      case 'insert':
      case 'update':
      case 'delete':
        this.addChange(message.tag, message, step.lsn);
        if (this.transaction && this.transaction.events.length >= APPEND_BATCH) await this.store(this.transaction.events.splice(0));
        return;
      case 'commit': {
        const end = message.commitEndLsn!;
        const events = this.transaction?.events ?? [];
        this.transaction = undefined;
        if (this.checkpoint && compareLsn(end, this.checkpoint) <= 0) {
          this.options.logger.debug({ org: this.options.orgId, lsn: end }, 'skipped a transaction already relayed');
        } else {
          await this.store(events, end);
          this.checkpoint = end;
        }
        await this.service?.acknowledge(end);
        return;
      }
      default:
        return;
    }
  }

  private addChange(kind: RowChangeKind, message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete, lsn: string) {
    if (!this.transaction) return;
    const record = 'new' in message ? message.new : null;
    const old = 'old' in message ? (message.old ?? message.key ?? null) : null;
    this.transaction.events.push(
      rowChangeEvent(kind, {
        schema: message.relation.schema,
        table: message.relation.name,
        record,
        old_record: old,
        commitTimestamp: this.transaction.commitTimestamp,
        lsn,
      }),
    );
  }

  private async store(events: NewEvent[], commitLsn?: string): Promise<void> {
    const { stream, orgId, lease, checkpointKey } = this.options;
    await stream.appendFenced(orgId, events, lease.fence(), commitLsn ? { key: checkpointKey, value: commitLsn } : undefined);
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.service?.destroy().catch(() => undefined);
    this.options.onFailed(error);
  }
}
