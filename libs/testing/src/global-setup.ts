import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformConfig } from '#libs/config';
import { findOrStartRedis, startEmbeddedPostgres } from '#libs/runtime';
import { createLogger } from '#libs/logging';
import { TEST_ENV } from './test-environment.js';

/** The test server is thrown away after the run: durability buys nothing there, speed does. */
const THROWAWAY_SERVER = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

/**
 * Provides one real Postgres and one real Redis for the whole run: TEST_DATABASE_URL and
 * TEST_REDIS_URL when given, else an embedded PostgreSQL and a found or started
 * redis-server. Each test file then makes its own database and key prefix.
 */
export default async function globalSetup(): Promise<void> {
  const logger = createLogger('test-setup', 'warn');
  const scratch = await mkdtemp(join(tmpdir(), 'platform-test-'));
  // The embedded server runs as the unprivileged `postgres` user when we are root; it must reach its folder.
  await chmod(scratch, 0o755);
  const stops: (() => Promise<void>)[] = [];

  let postgresUrl = process.env.TEST_DATABASE_URL;
  if (!postgresUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), port: 0, logger, settings: THROWAWAY_SERVER });
    stops.push(postgres.stop);
    postgresUrl = postgres.url;
  }
  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await findOrStartRedis({ probeUrl: new PlatformConfig().REDIS_PROBE_URL, dataDir: join(scratch, 'redis'), logger });
    stops.push(redis.stop);
    redisUrl = redis.url;
  }
  process.env[TEST_ENV.postgresUrl] = postgresUrl;
  process.env[TEST_ENV.redisUrl] = redisUrl;
  (globalThis as { platformTestServers?: unknown }).platformTestServers = { stops, scratch };
}
