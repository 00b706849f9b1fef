import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsConnectionUrl } from './is-connection-url.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every setting of the platform, read from the environment (and an optional `.env`).
 * Each property is one variable of the same name; the README's configuration table
 * documents them all. Defaults suit a single machine with embedded services.
 */
export class PlatformConfig {
  /** Interface the HTTP API binds to. */
  @IsString({ message: 'must be a host name or IP address' })
  HOST = '127.0.0.1';

  /** Port the HTTP API listens on. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 65535' })
  @Min(1, { message: 'must be a whole number from 1 to 65535' })
  @Max(65535, { message: 'must be a whole number from 1 to 65535' })
  PORT = 3000;

  /** Control-plane Postgres; unset starts an embedded PostgreSQL under DATA_DIR. */
  @IsOptional()
  @IsConnectionUrl(['postgres:', 'postgresql:'])
  DATABASE_URL?: string = undefined;

  /** Largest number of connections one process opens to the control-plane database. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000' })
  @Max(1000, { message: 'must be a whole number from 1 to 1000' })
  DATABASE_POOL_MAX = 10;

  /** How long connecting to Postgres or Redis may take before start-up gives up. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 120000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 120000' })
  @Max(120_000, { message: 'must be a whole number of milliseconds from 100 to 120000' })
  CONNECT_TIMEOUT_MS = 5000;

  /** How long one dependency check of /health/ready may take before that dependency counts as down. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 60000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 60000' })
  @Max(60_000, { message: 'must be a whole number of milliseconds from 100 to 60000' })
  HEALTH_CHECK_TIMEOUT_MS = 2000;

  /** Port of the embedded PostgreSQL; 0 picks a free one at each start. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 65535' })
  @Min(0, { message: 'must be a whole number from 0 to 65535' })
  @Max(65535, { message: 'must be a whole number from 0 to 65535' })
  EMBEDDED_POSTGRES_PORT = 0;

  /** Redis for queues and live state; unset uses REDIS_PROBE_URL if it answers, else starts redis-server. */
  @IsOptional()
  @IsConnectionUrl(['redis:', 'rediss:'])
  REDIS_URL?: string = undefined;

  /** Where to look for an already running Redis when REDIS_URL is unset. */
  @IsConnectionUrl(['redis:', 'rediss:'])
  REDIS_PROBE_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every Redis key, so several platforms (or test runs) can share one Redis. */
  @Matches(/^[a-zA-Z0-9_-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, "-" or "_"' })
  REDIS_PREFIX = 'platform';

  /** Folder for the embedded services' data (PostgreSQL cluster, Redis AOF). */
  @IsString({ message: 'must be a folder path' })
  @MinLength(1, { message: 'must be a folder path' })
  DATA_DIR = '.data';

  /** Platform admin token; unset generates one at first start and prints it once. */
  @IsOptional()
  @IsString({ message: 'must be a string of 32 to 256 characters' })
  @MinLength(32, { message: 'must be a string of 32 to 256 characters' })
  @MaxLength(256, { message: 'must be a string of 32 to 256 characters' })
  PLATFORM_ADMIN_TOKEN?: string = undefined;

  /** Least severe log level written. */
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /** How long a graceful shutdown may take before the process exits anyway. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 0 to 600000' })
  @Min(0, { message: 'must be a whole number of milliseconds from 0 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 0 to 600000' })
  SHUTDOWN_TIMEOUT_MS = 10_000;
}
