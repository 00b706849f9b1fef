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

/** `read`, called at most once per scrape (several gauges share each read); a new scrape starts with `scrapes.next()`. */
class ScrapeGenerations {
  private generation = 0;

  next(): void {
    this.generation++;
  }

  shared<T>(read: () => Promise<T>): () => Promise<T> {
    let last: { generation: number; value: Promise<T> } | undefined;
    return () => {
      if (!last || last.generation !== this.generation) last = { generation: this.generation, value: read() };
      return last.value;
    };
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
  private readonly scrapes = new ScrapeGenerations();

  constructor(
    metrics: MetricsRegistry,
    tasks: TaskMetrics,
    stream: OrgEventStream,
    fanout: EventFanout,
    resources: ResourceService,
    registry: OrgRegistryRepository,
    config: PlatformConfig,
  ) {
    const registers = [metrics.registry];
    const perOrg = config.METRICS_ORG_LABELS === 'on';
    const orgLabels = perOrg ? (['org'] as const) : ([] as const);
    // collect() runs with the gauge as `this`; what it reads comes through these closures.
    const queueLoad = this.scrapes.shared(() => tasks.queueLoad());
    const persistLoad = this.scrapes.shared(() => tasks.persistLoad());
    const fanoutLoad = this.scrapes.shared(() => fanout.load());

    new Gauge({
      name: 'platform_task_queue_jobs',
      help: 'Run jobs in the task queues, by class and state (waiting, delayed, active).',
      labelNames: ['class', 'state'] as const,
      registers,
      async collect() {
        this.reset();
        for (const load of await queueLoad()) {
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
        for (const load of await queueLoad()) this.set({ class: load.taskClass }, load.oldestWaitingMs / 1000);
      },
    });
    new Gauge({
      name: 'platform_task_persist_backlog',
      help: 'Final tasks whose history is not yet written to their org database.',
      registers,
      async collect() {
        this.set((await persistLoad()).backlog);
      },
    });
    new Gauge({
      name: 'platform_task_persist_lag_seconds',
      help: 'How long the longest-waiting final task has been due for its history write (0 when none waits).',
      registers,
      async collect() {
        this.set((await persistLoad()).oldestDueMs / 1000);
      },
    });
    new Gauge({
      name: 'platform_event_stream_entries',
      help: 'Entries kept in the org event streams (per org with METRICS_ORG_LABELS=on).',
      labelNames: orgLabels,
      registers,
      async collect() {
        this.reset();
        let total = 0;
        for await (const orgId of stream.orgsWithStreams(STREAM_SCAN_BATCH)) {
          const length = await stream.length(orgId);
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
        const { lagMs } = await fanoutLoad();
        if (perOrg) for (const [org, ms] of lagMs) this.set({ org }, ms / 1000);
        else this.set(Math.max(0, ...lagMs.values()) / 1000);
      },
    });
    new Gauge({
      name: 'platform_realtime_sockets',
      help: 'Realtime sockets connected to this API process.',
      registers,
      async collect() {
        this.set((await fanoutLoad()).sockets);
      },
    });
    new Gauge({
      name: 'platform_realtime_subscriptions',
      help: 'Realtime subscriptions held by the sockets of this API process.',
      registers,
      async collect() {
        this.set((await fanoutLoad()).subscriptions);
      },
    });
    new Gauge({
      name: 'platform_realtime_stream_readers',
      help: 'Blocking stream readers of this API process (one; on Redis Cluster one per hash slot with subscribers).',
      registers,
      async collect() {
        this.set((await fanoutLoad()).readers);
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
        for (const load of await resources.leaseLoad()) {
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
        for (const [status, count] of await registry.countByStatus()) this.set({ status }, count);
      },
    });
  }

  /** Called before each scrape: the gauges read the state afresh, once each. */
  startScrape(): void {
    this.scrapes.next();
  }
}
