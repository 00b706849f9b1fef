import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PlatformConfig } from '#libs/config';
import { ControlPlaneDatabase } from '#libs/database';
import { RedisConnection } from '#libs/redis';

/** Readiness checks of the two dependencies every request needs. */
@Injectable()
export class DependencyHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly database: ControlPlaneDatabase,
    private readonly redisConnection: RedisConnection,
    private readonly config: PlatformConfig,
  ) {}

  postgres() {
    return this.health
      .check('postgres')
      .attempt(async () => {
        await this.database.query('SELECT 1');
      })
      .withTimeout(this.config.HEALTH_CHECK_TIMEOUT_MS);
  }

  redis() {
    return this.health
      .check('redis')
      .attempt(async () => {
        await this.redisConnection.client.ping();
      })
      .withTimeout(this.config.HEALTH_CHECK_TIMEOUT_MS);
  }
}
