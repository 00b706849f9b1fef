import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformConfig } from '#libs/config';
import { findOrStartRedis, startEmbeddedPostgres } from '#libs/runtime';
import { createLogger } from '#libs/logging';

export interface BenchEnvironment {
  postgresUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/** Real Postgres and Redis for a bench run: DATABASE_URL / REDIS_URL when given, else embedded and found or started. */
export async function startBenchEnvironment(): Promise<BenchEnvironment> {
  const logger = createLogger('bench', 'warn');
  const scratch = await mkdtemp(join(tmpdir(), 'platform-bench-'));
  await chmod(scratch, 0o755);
  const stops: (() => Promise<void>)[] = [];
  let postgresUrl = process.env.DATABASE_URL;
  if (!postgresUrl) {
    const postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), port: 0, logger });
    stops.push(postgres.stop);
    postgresUrl = postgres.url;
  }
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const redis = await findOrStartRedis({ probeUrl: new PlatformConfig().REDIS_PROBE_URL, dataDir: join(scratch, 'redis'), logger });
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
