import { join } from 'node:path';
import { fromProjectRoot, type PlatformConfig, redactUrl } from '#libs/config';
import { assertPostgresReachable, controlPlaneMigrationsDir, PostgresUnreachableError, runMigrations } from '#libs/database';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { loadOrCreateSecrets } from './generated-secrets.js';
import { redisModeOf } from '#libs/redis';
import { findOrStartRedis, redisAnswers, redisDeploymentAnswers } from './redis-server.js';
import type { ProcessContext } from './run-process.js';
import { StartupError } from './startup-error.js';

/**
 * Makes Postgres and Redis available: the ones named by DATABASE_URL and REDIS_URL (or
 * REDIS_CLUSTER_NODES / REDIS_SENTINELS),
 * else an embedded PostgreSQL and a found or started redis-server under DATA_DIR.
 * Then migrates the control plane. Returns the config with both URLs (and, unless set,
 * secrets generated once under DATA_DIR) filled in;
 * whatever it started is stopped with the process.
 */
export async function provideInfrastructure({ config, logger, lifecycle }: ProcessContext): Promise<PlatformConfig> {
  const dataDir = fromProjectRoot(config.DATA_DIR);

  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: config.EMBEDDED_POSTGRES_PORT, logger });
    lifecycle.onStop('embedded PostgreSQL', postgres.stop);
    databaseUrl = postgres.url;
  }
  try {
    await assertPostgresReachable(databaseUrl, config.CONNECT_TIMEOUT_MS, 'control-plane database');
  } catch (error) {
    if (error instanceof PostgresUnreachableError) throw new StartupError(error.message);
    throw error;
  }

  let redisUrl = config.REDIS_URL;
  if (redisModeOf(config) !== 'standalone') {
    if (!(await redisDeploymentAnswers(config, config.CONNECT_TIMEOUT_MS))) {
      const where = config.REDIS_CLUSTER_NODES
        ? `the Redis Cluster at ${config.REDIS_CLUSTER_NODES}`
        : `the sentinels at ${config.REDIS_SENTINELS}`;
      throw new StartupError(`cannot reach ${where}`);
    }
  } else if (!redisUrl) {
    const redis = await findOrStartRedis({ probeUrl: config.REDIS_PROBE_URL, dataDir: join(dataDir, 'redis'), logger });
    lifecycle.onStop('redis-server', redis.stop);
    redisUrl = redis.url;
  } else if (!(await redisAnswers(redisUrl))) {
    throw new StartupError(`cannot connect to Redis at ${redactUrl(redisUrl)}`);
  }

  const { applied, schemaVersion } = await runMigrations(databaseUrl, controlPlaneMigrationsDir());
  logger.info({ applied, schemaVersion }, 'control-plane schema is up to date');

  const generated =
    config.ENCRYPTION_KEY && config.JWT_SECRET ? undefined : await loadOrCreateSecrets(join(dataDir, 'secrets.json'), logger);
  return Object.assign(Object.create(Object.getPrototypeOf(config)) as PlatformConfig, config, {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    ENCRYPTION_KEY: config.ENCRYPTION_KEY ?? generated?.ENCRYPTION_KEY,
    JWT_SECRET: config.JWT_SECRET ?? generated?.JWT_SECRET,
  });
}
