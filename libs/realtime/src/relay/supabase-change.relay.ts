import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { OrgEventStream } from '#libs/event-stream';
import type { RedisLease } from '../redis-lease.js';
import type { ChangeSource, SourceFailed } from './change-source.js';
import { rowChangeEvent, type RowChangeKind } from './row-change.js';

export interface SupabaseChangeRelayOptions {
  orgId: string;
  /** The Supabase project's URL (its Realtime endpoint is `<url>/realtime/v1`). */
  url: string;
  /** A key Realtime accepts for the org's tables (the service role key sees every change). */
  key: string;
  connectTimeoutMs: number;
  stream: OrgEventStream;
  lease: RedisLease;
  logger: Logger;
  onFailed: SourceFailed;
}

/** The shape supabase-js gives a `postgres_changes` payload. */
interface PostgresChangesPayload {
  eventType: 'INSERT' | 'UPDATE' | 'DELETE';
  schema: string;
  table: string;
  commit_timestamp: string;
  new: Record<string, unknown>;
  old: Record<string, unknown>;
}

const KIND_OF: Record<PostgresChangesPayload['eventType'], RowChangeKind> = { INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' };

/**
 * Takes an org's row changes from Supabase Realtime (`postgres_changes` on schema
 * public) instead of a replication slot, for instances hosted on Supabase. Realtime gives
 * no LSN and cannot replay: a change made while no relay is subscribed is not relayed
 * (at most once), unlike the WAL relay.
 */
export class SupabaseChangeRelay implements ChangeSource {
  private client?: SupabaseClient;
  private channel?: RealtimeChannel;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: SupabaseChangeRelayOptions) {}

  async start(): Promise<void> {
    const { url, key, orgId, connectTimeoutMs } = this.options;
    // Node 20 has no global WebSocket: supabase-js takes the `ws` package as its transport.
    this.client = createClient(url, key, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never, timeout: connectTimeoutMs },
    });
    const channel = this.client
      .channel(`platform-relay-${orgId}`)
      .on('postgres_changes' as never, { event: '*', schema: 'public' }, (payload: PostgresChangesPayload) => this.enqueue(payload));
    this.channel = channel;
    await new Promise<void>((resolve, reject) => {
      channel.subscribe((status: string, error?: Error) => {
        if (status === 'SUBSCRIBED') resolve();
        else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
          const failure = error ?? new Error(`Supabase Realtime answered ${status}`);
          reject(failure);
          this.fail(failure);
        } else if (status === 'CLOSED') this.fail(new Error('Supabase Realtime closed the channel'));
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    if (this.channel) await this.client?.removeChannel(this.channel);
    // supabase-js keeps a (harmless) 10 s timer after disconnecting; nothing waits on it.
    void this.client?.realtime.disconnect();
  }

  private enqueue(payload: PostgresChangesPayload): void {
    // In arrival order, each stored before the next, fenced by the org's relay lease.
    this.chain = this.chain
      .then(async () => {
        if (this.stopped) return;
        const kind = KIND_OF[payload.eventType];
        const event = rowChangeEvent(kind, {
          schema: payload.schema,
          table: payload.table,
          record: kind === 'delete' ? null : payload.new,
          old_record: kind === 'insert' || !payload.old || Object.keys(payload.old).length === 0 ? null : payload.old,
          commitTimestamp: payload.commit_timestamp,
          lsn: null,
        });
        await this.options.stream.appendFenced(this.options.orgId, [event], this.options.lease.fence());
      })
      .catch((error: Error) => this.fail(error));
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.client?.realtime.disconnect();
    this.options.onFailed(error);
  }
}
