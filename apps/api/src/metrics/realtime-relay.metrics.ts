import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { RelayReport, type RelayReportSnapshot } from '#libs/registry';
import { MetricsRegistry } from './metrics-registry.js';

/** How long one read of the relay report serves the gauges of a scrape. */
const REPORT_REUSE_MS = 1000;

/** Gauges of the realtime relays, read at scrape time: orgs per relay state, lag per org, held-back WAL, cluster capacity. */
@Injectable()
export class RealtimeRelayMetrics {
  private report?: { at: number; snapshot: Promise<RelayReportSnapshot> };

  constructor(
    metrics: MetricsRegistry,
    private readonly relays: RelayReport,
  ) {
    const registers = [metrics.registry];
    // collect() runs with the gauge as `this`; the report comes through this closure.
    const read = () => this.read();
    new Gauge({
      name: 'platform_realtime_orgs',
      help: 'READY orgs by the state of their change relay (RELAYING, IDLE, NO_CAPACITY, ERROR).',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        this.reset();
        for (const [state, count] of Object.entries((await read()).states)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'platform_realtime_relay_lag_bytes',
      help: 'WAL written in an org database since its relay last confirmed, by org slug and relay state.',
      labelNames: ['org', 'state'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { slug, realtime } of (await read()).orgs) this.set({ org: slug, state: realtime.state }, realtime.lagBytes);
      },
    });
    new Gauge({
      name: 'platform_realtime_slot_retained_bytes',
      help: 'WAL kept on disk for a platform replication slot whose relay is not running, by cluster and slot.',
      labelNames: ['cluster', 'slot', 'org'] as const,
      registers,
      async collect() {
        this.reset();
        for (const slot of (await read()).heldBackSlots) {
          this.set({ cluster: slot.cluster, slot: slot.slot, org: slot.org ?? '' }, slot.retainedBytes);
        }
      },
    });
    new Gauge({
      name: 'platform_realtime_cluster_relay_capacity',
      help: 'Relays an org cluster can hold (min(max_replication_slots, max_wal_senders) minus REALTIME_SLOT_RESERVE) and how many places are free.',
      labelNames: ['cluster', 'kind'] as const,
      registers,
      async collect() {
        this.reset();
        for (const cluster of (await read()).clusters) {
          if (!cluster.reachable) continue;
          this.set({ cluster: cluster.cluster, kind: 'capacity' }, cluster.capacity!);
          this.set({ cluster: cluster.cluster, kind: 'free' }, cluster.free!);
        }
      },
    });
  }

  private read(): Promise<RelayReportSnapshot> {
    if (!this.report || Date.now() - this.report.at > REPORT_REUSE_MS) {
      this.report = { at: Date.now(), snapshot: this.relays.read() };
      this.report.snapshot.catch(() => (this.report = undefined));
    }
    return this.report.snapshot;
  }
}
