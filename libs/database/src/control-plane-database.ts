import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { PlatformConfig } from '#libs/config';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export interface Queryable {
  query<Row extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
}

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

  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
