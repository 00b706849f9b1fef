import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { BusyLoopShare } from '../tenancy/busy-loop-share.js';
import { EventLoopLoad } from '../tenancy/event-loop-load.js';
import { MetricsRegistry } from './metrics-registry.js';

/** This process's event-loop utilisation and the requests its busy-loop fair share held back, read at scrape time. */
@Injectable()
export class EventLoopShareMetrics {
  constructor(metrics: MetricsRegistry, load: EventLoopLoad, share: BusyLoopShare) {
    new Gauge({
      name: 'platform_api_event_loop_utilization',
      help: 'Share of the last API_LOOP_SAMPLE_MS this process’s event loop spent running callbacks (0 to 1).',
      registers: [metrics.registry],
      collect() {
        this.set(load.utilization);
      },
    });
    let counted = 0;
    new Counter({
      name: 'platform_api_org_requests_held_total',
      help: 'HTTP requests that waited because their org held ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY of them while the event loop was busy.',
      registers: [metrics.registry],
      collect() {
        this.inc(share.heldTotal - counted);
        counted = share.heldTotal;
      },
    });
  }
}
