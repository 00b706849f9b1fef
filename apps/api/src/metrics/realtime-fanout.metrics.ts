import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { EventFanout } from '../realtime/event-fanout.service.js';
import { MetricsRegistry } from './metrics-registry.js';

/** Gauges of this process's event delivery, read at scrape time. */
@Injectable()
export class RealtimeFanoutMetrics {
  constructor(metrics: MetricsRegistry, fanout: EventFanout) {
    new Gauge({
      name: 'platform_realtime_pending_events_peak',
      help: 'The most live events one subscription of this process held back at once while replaying (bounded by REALTIME_PENDING_EVENTS_MAX).',
      registers: [metrics.registry],
      collect() {
        this.set(fanout.pendingEventsPeak);
      },
    });
  }
}
