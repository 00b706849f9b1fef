import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/access.decorators.js';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { TaskMetrics } from '#libs/tasks';
import { MetricsRegistry } from './metrics-registry.js';
import { PlatformMetrics } from './platform.metrics.js';

@ApiTags('metrics')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly tasks: TaskMetrics,
    private readonly platform: PlatformMetrics,
  ) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary: 'Prometheus metrics: HTTP requests, the Node process, tasks, queues, streams, realtime, leases, org instances and relays.',
  })
  async scrape(): Promise<string> {
    this.platform.startScrape();
    // Task counters come from every API and worker process, added up; the rest is this process's registry.
    return Registry.merge([this.metrics.registry, await this.tasks.aggregate()]).metrics();
  }
}
