import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/access.decorators.js';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { MetricsRegistry } from './metrics-registry.js';

@ApiTags('metrics')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics: HTTP requests, the Node process and the realtime relays.' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
