import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from './metrics-registry.js';

/** Why a Supabase channel join was refused: a few fixed causes, never the client's own text. */
export type JoinRefusalReason = 'invalid' | 'unauthorized' | 'forbidden' | 'limit' | 'replay_expired' | 'unavailable' | 'error';

/** This process's Supabase Realtime endpoint, counted as it works (labels of fixed, small sets). */
@Injectable()
export class SupabaseRealtimeMetrics {
  readonly connections: Gauge;
  readonly channels: Gauge;
  readonly messagesOut: Counter<'kind'>;
  readonly joinRefusals: Counter<'reason'>;
  readonly replays: Counter;
  readonly replayedEvents: Counter;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.connections = new Gauge({
      name: 'platform_supabase_realtime_connections',
      help: 'Open Supabase Realtime connections (/realtime/v1/websocket) on this process.',
      registers,
    });
    this.channels = new Gauge({
      name: 'platform_supabase_realtime_channels',
      help: 'Supabase Realtime channels joined on this process.',
      registers,
    });
    this.messagesOut = new Counter({
      name: 'platform_supabase_realtime_messages_out_total',
      help: 'Phoenix messages sent to Supabase Realtime clients, by event (postgres_changes, broadcast, presence_diff, phx_reply ...; heartbeat for heartbeat replies).',
      labelNames: ['kind'],
      registers,
    });
    this.joinRefusals = new Counter({
      name: 'platform_supabase_realtime_join_refusals_total',
      help: 'Supabase Realtime channel joins refused, by reason (invalid, unauthorized, forbidden, limit, replay_expired, unavailable, error).',
      labelNames: ['reason'],
      registers,
    });
    this.replays = new Counter({
      name: 'platform_supabase_realtime_replays_total',
      help: 'Joins with config.broadcast.replay (each replays from its since millisecond, inclusively).',
      registers,
    });
    this.replayedEvents = new Counter({
      name: 'platform_supabase_realtime_replayed_messages_total',
      help: 'Messages sent by replays from since.',
      registers,
    });
  }
}
