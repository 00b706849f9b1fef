import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { PlatformConfig } from '#libs/config';

/** The control-plane Postgres pool: registry, tokens, audit. Closed when the app shuts down. */
@Injectable()
export class ControlPlaneDatabase implements OnApplicationShutdown {
  readonly pool: pg.Pool;

  constructor(config: PlatformConfig) {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL must be resolved before the database module starts');
    this.pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: config.DATABASE_POOL_MAX,
      connectionTimeoutMillis: config.CONNECT_TIMEOUT_MS,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Runs one parameterised statement on a pooled connection. */
  query<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    return this.pool.query<Row>(sql, params);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
