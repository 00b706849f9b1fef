import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access.decorators.js';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DependencyHealthIndicators } from './dependency-health.indicators.js';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicators,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up and serving HTTP.' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Postgres and Redis answer (503 names the one that does not); details report the realtime relays.' })
  async ready(@Res({ passthrough: true }) response: FastifyReply) {
    try {
      return await this.health.check([
        () => this.dependencies.postgres(),
        () => this.dependencies.redis(),
        () => this.dependencies.realtime(),
      ]);
    } catch (error) {
      // Keep terminus' report (which part is down) as the body rather than the generic error shape.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.code(error.getStatus());
      return error.getResponse();
    }
  }
}
