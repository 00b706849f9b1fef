import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { PlatformConfig } from '#libs/config';
import { ControlPlaneDatabase } from '#libs/database';
import { RedisConnection } from '#libs/redis';
import { RelayReport } from '#libs/registry';

/** Readiness checks of the two dependencies every request needs, and the state of the realtime relays. */
@Injectable()
export class DependencyHealthIndicators {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly database: ControlPlaneDatabase,
    private readonly redisConnection: RedisConnection,
    private readonly config: PlatformConfig,
    private readonly relays: RelayReport,
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

  /**
   * The org change relays: each cluster's capacity, READY orgs per relay state, the orgs
   * not relaying and slots holding WAL back. Reported, never failing readiness: a relay
   * problem concerns some orgs' realtime, not whether this replica can serve requests.
   */
  async realtime() {
    const indicator = this.health.check('realtime');
    try {
      const report = await this.relays.read();
      return indicator.up({
        clusters: report.clusters,
        orgs: report.states,
        notRelaying: report.orgs
          .filter(({ realtime }) => realtime.state === 'NO_CAPACITY' || realtime.state === 'ERROR')
          .map(({ slug, realtime }) => ({ org: slug, ...realtime })),
        heldBackSlots: report.heldBackSlots,
      });
    } catch (error) {
      return indicator.up({ error: `relay state could not be read: ${(error as Error).message}` });
    }
  }
}
