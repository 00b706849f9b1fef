import { createLogger } from '#libs/logging';
import { startScratchServers, type ScratchServers } from '#libs/testing';

export type BenchEnvironment = ScratchServers;

/** Real Postgres and Redis for a bench run: DATABASE_URL / REDIS_URL when given, else embedded (durable settings) and found or started. */
export function startBenchEnvironment(): Promise<BenchEnvironment> {
  return startScratchServers({
    postgresUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
    logger: createLogger('bench', 'warn'),
  });
}
