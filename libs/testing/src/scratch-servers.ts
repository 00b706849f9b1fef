import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformConfig } from '#libs/config';
import type { Logger } from '#libs/logging';
import { findOrStartRedis, startEmbeddedPostgres } from '#libs/runtime';

export interface ScratchServers {
  postgresUrl: string;
  redisUrl: string;
  /** Stops what was started and removes its scratch folder. */
  stop(): Promise<void>;
}

/**
 * A real Postgres and Redis for a test run or a benchmark: the given URLs, else an
 * embedded PostgreSQL (with `postgresSettings`) and a found or started redis-server,
 * their data in a scratch folder.
 */
export async function startScratchServers(options: {
  postgresUrl?: string;
  redisUrl?: string;
  postgresSettings?: Record<string, string>;
  logger: Logger;
}): Promise<ScratchServers> {
  const scratch = await mkdtemp(join(tmpdir(), 'platform-scratch-'));
  // The embedded server runs as the unprivileged `postgres` user when we are root; it must reach its folder.
  await chmod(scratch, 0o755);
  const stops: (() => Promise<void>)[] = [];
  let { postgresUrl, redisUrl } = options;
  if (!postgresUrl) {
    const postgres = await startEmbeddedPostgres({
      dataDir: join(scratch, 'postgres'),
      port: 0,
      logger: options.logger,
      settings: options.postgresSettings,
    });
    stops.push(postgres.stop);
    postgresUrl = postgres.url;
  }
  if (!redisUrl) {
    const redis = await findOrStartRedis({
      probeUrl: new PlatformConfig().REDIS_PROBE_URL,
      dataDir: join(scratch, 'redis'),
      logger: options.logger,
    });
    stops.push(redis.stop);
    redisUrl = redis.url;
  }
  return {
    postgresUrl,
    redisUrl,
    async stop() {
      for (const stop of stops.reverse()) await stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
