import { createLogger } from '#libs/logging';
import { startScratchServers } from './scratch-servers.js';
import { TEST_ENV } from './test-environment.js';

/** The test server is thrown away after the run: durability buys nothing there, speed does. */
const THROWAWAY_SERVER = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

/**
 * Provides one real Postgres and one real Redis for the whole run: TEST_DATABASE_URL and
 * TEST_REDIS_URL when given, else an embedded PostgreSQL and a found or started
 * redis-server. Each test file then makes its own database and key prefix.
 */
export default async function globalSetup(): Promise<void> {
  const servers = await startScratchServers({
    postgresUrl: process.env.TEST_DATABASE_URL,
    redisUrl: process.env.TEST_REDIS_URL,
    postgresSettings: THROWAWAY_SERVER,
    logger: createLogger('test-setup', 'warn'),
  });
  process.env[TEST_ENV.postgresUrl] = servers.postgresUrl;
  process.env[TEST_ENV.redisUrl] = servers.redisUrl;
  (globalThis as { platformTestServers?: unknown }).platformTestServers = servers;
}
