import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { PlatformConfig } from '#libs/config';
import { OrgEventStream } from '#libs/realtime';
import { OrgRegistryRepository } from '#libs/registry';
import { ResourceService } from '#libs/resources';
import { TaskMetrics } from '#libs/tasks';
import { EventFanout } from '../realtime/event-fanout.service.js';
import { MetricsRegistry } from './metrics-registry.js';

/** Stream keys asked for per SCAN round while counting event stream entries. */
const STREAM_SCAN_BATCH = 500;

/**
 * Reads shared by the gauges of one scrape: each runs at most once per scrape (a new scrape
 * starts with `next()`), and one that fails or takes longer than the timeout gives
 * undefined, so a Redis or Postgres that is away leaves those gauges out instead of
 * holding the whole scrape.
 */
class ScrapeReads {
  private generation = 0;

  constructor(private readonly timeoutMs: number) {}

  next(): void {
    this.generation++;
  }

  shared<T>(read: () => Promise<T>): () => Promise<T | undefined> {
    let last: { generation: number; value: Promise<T | undefined> } | undefined;
    return () => {
      if (!last || last.generation !== this.generation) last = { generation: this.generation, value: this.bounded(read) };
      return last.value;
    };
  }

  private bounded<T>(read: () => Promise<T>): Promise<T | undefined> {
    const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, this.timeoutMs, undefined).unref());
    return Promise.race([read().catch(() => undefined), timeout]);
  }
}

/**
 * Gauges of the platform's own state, read when Prometheus scrapes: task queues and the
 * history backlog, event streams and this process's fan-out, realtime sockets, resource
 * leases, org instances. Labels stay few (class, status, state); with METRICS_ORG_LABELS=on
 * the per-org gauges also get an `org` label (and leases a `pool` one).
 */
@Injectable()
export class PlatformMetrics {
  private readonly scrapes: ScrapeReads;

  constructor(
    metrics: MetricsRegistry,
    tasks: TaskMetrics,
    stream: OrgEventStream,
    fanout: EventFanout,
    resources: ResourceService,
    registry: OrgRegistryRepository,
    config: PlatformConfig,
  ) {
    this.scrapes = new ScrapeReads(config.HEALTH_CHECK_TIMEOUT_MS);
    const registers = [metrics.registry];
    const perOrg = config.METRICS_ORG_LABELS === 'on';
    const orgLabels = perOrg ? (['org'] as const) : ([] as const);
    // collect() runs with the gauge as `this`; what it reads comes through these closures.
    const queueLoad = this.scrapes.shared(() => tasks.queueLoad());
    const persistLoad = this.scrapes.shared(() => tasks.persistLoad());
    const fanoutLoad = this.scrapes.shared(() => fanout.load());
    const streamEntries = this.scrapes.shared(async () => {
      const lengths = new Map<string, number>();
      for await (const orgId of stream.orgsWithStreams(STREAM_SCAN_BATCH)) lengths.set(orgId, await stream.length(orgId));
      return lengths;
    });
    const leaseLoad = this.scrapes.shared(() => resources.leaseLoad());
    const instances = this.scrapes.shared(() => registry.countByStatus());

    new Gauge({
      name: 'platform_task_queue_jobs',
      help: 'Run jobs in the task queues, by class and state (waiting, delayed, active).',
      labelNames: ['class', 'state'] as const,
      registers,
      async collect() {
        this.reset();
        for (const load of (await queueLoad()) ?? []) {
          for (const state of ['waiting', 'delayed', 'active'] as const) this.set({ class: load.taskClass, state }, load[state]);
        }
      },
    });
    new Gauge({
      name: 'platform_task_queue_oldest_waiting_seconds',
      help: 'Age of the oldest run job waiting in each class’s queue (0 when none waits).',
      labelNames: ['class'] as const,
      registers,
      async collect() {
        this.reset();
        for (const load of (await queueLoad()) ?? []) this.set({ class: load.taskClass }, load.oldestWaitingMs / 1000);
      },
    });
    new Gauge({
      name: 'platform_task_persist_backlog',
      help: 'Final tasks whose history is not yet written to their org database.',
      registers,
      async collect() {
        const load = await persistLoad();
        if (load) this.set(load.backlog);
      },
    });
    new Gauge({
      name: 'platform_task_persist_lag_seconds',
      help: 'How long the longest-waiting final task has been due for its history write (0 when none waits).',
      registers,
      async collect() {
        const load = await persistLoad();
        if (load) this.set(load.oldestDueMs / 1000);
      },
    });
    new Gauge({
      name: 'platform_event_stream_entries',
      help: 'Entries kept in the org event streams (per org with METRICS_ORG_LABELS=on).',
      labelNames: orgLabels,
      registers,
      async collect() {
        this.reset();
        const lengths = await streamEntries();
        if (!lengths) return;
        let total = 0;
        for (const [orgId, length] of lengths) {
          if (perOrg) this.set({ org: orgId }, length);
          total += length;
        }
        if (!perOrg) this.set(total);
      },
    });
    new Gauge({
      name: 'platform_realtime_fanout_lag_seconds',
      help: 'On this API process: how far the newest event of a stream it reads is ahead of what it has delivered (the most behind stream; per org with METRICS_ORG_LABELS=on).',
      labelNames: orgLabels,
      registers,
      async collect() {
        this.reset();
        const load = await fanoutLoad();
        if (!load) return;
        const { lagMs } = load;
        if (perOrg) for (const [org, ms] of lagMs) this.set({ org }, ms / 1000);
        else this.set(Math.max(0, ...lagMs.values()) / 1000);
      },
    });
    new Gauge({
      name: 'platform_realtime_sockets',
      help: 'Realtime sockets connected to this API process.',
      registers,
      async collect() {
        const load = await fanoutLoad();
        if (load) this.set(load.sockets);
      },
    });
    new Gauge({
      name: 'platform_realtime_subscriptions',
      help: 'Realtime subscriptions held by the sockets of this API process.',
      registers,
      async collect() {
        const load = await fanoutLoad();
        if (load) this.set(load.subscriptions);
      },
    });
    new Gauge({
      name: 'platform_realtime_stream_readers',
      help: 'Blocking stream readers of this API process (one; on Redis Cluster one per hash slot with subscribers).',
      registers,
      async collect() {
        const load = await fanoutLoad();
        if (load) this.set(load.readers);
      },
    });
    new Gauge({
      name: 'platform_resource_leases',
      help: 'Environment leases held (active) and callers queued for one (waiting); per org and pool with METRICS_ORG_LABELS=on.',
      labelNames: perOrg ? (['state', 'org', 'pool'] as const) : (['state'] as const),
      registers,
      async collect() {
        this.reset();
        const totals = { active: 0, waiting: 0 };
        const loads = await leaseLoad();
        if (!loads) return;
        for (const load of loads) {
          for (const state of ['active', 'waiting'] as const) {
            if (perOrg) this.set({ state, org: load.orgId, pool: load.pool }, load[state]);
            totals[state] += load[state];
          }
        }
        if (!perOrg) for (const state of ['active', 'waiting'] as const) this.set({ state }, totals[state]);
      },
    });
    new Gauge({
      name: 'platform_org_instances',
      help: 'Org instances by status (PENDING, PROVISIONING, READY, FAILED, DEPROVISIONING, DELETED).',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        this.reset();
        for (const [status, count] of (await instances()) ?? []) this.set({ status }, count);
      },
    });
  }

  /** Called before each scrape: the gauges read the state afresh, once each. */
  startScrape(): void {
    this.scrapes.next();
  }
}
