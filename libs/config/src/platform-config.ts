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

  /**
   * Postgres clusters that host organization databases, as `name=url` pairs separated by
   * commas; each URL's user must be able to create databases and roles. Unset: one
   * cluster named `default` at DATABASE_URL.
   */
  @IsOptional()
  @Matches(/^[a-z0-9_-]+=postgres(ql)?:\/\/\S+(,[a-z0-9_-]+=postgres(ql)?:\/\/\S+)*$/, {
    message: 'must be name=postgres://... pairs separated by commas',
  })
  ORG_CLUSTER_URLS?: string = undefined;

  /** Connections one process may hold to one organization's database. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100' })
  @Min(1, { message: 'must be a whole number from 1 to 100' })
  @Max(100, { message: 'must be a whole number from 1 to 100' })
  ORG_POOL_MAX = 5;

  /** Connections one process may hold to all organization databases together; idle pools are closed to stay under it. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 10000' })
  @Min(1, { message: 'must be a whole number from 1 to 10000' })
  @Max(10_000, { message: 'must be a whole number from 1 to 10000' })
  ORG_POOLS_TOTAL_MAX = 50;

  /** How long an idle connection to an organization database stays open. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Max(3_600_000, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  ORG_POOL_IDLE_MS = 30_000;

  /** Key (32 bytes, base64) that encrypts database credentials at rest; unset: generated once into DATA_DIR/secrets.json. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be 32 bytes in base64 (openssl rand -base64 32)' })
  ENCRYPTION_KEY?: string = undefined;

  /** HS256 secret of session JWTs, shared with PostgREST and Realtime; unset: generated once into DATA_DIR/secrets.json. */
  @IsOptional()
  @IsString({ message: 'must be a string of at least 32 characters' })
  @MinLength(32, { message: 'must be a string of at least 32 characters' })
  JWT_SECRET?: string = undefined;

  /** Lifetime of a session JWT from POST /v1/auth/session. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 60 to 86400' })
  @Min(60, { message: 'must be a whole number of seconds from 60 to 86400' })
  @Max(86_400, { message: 'must be a whole number of seconds from 60 to 86400' })
  SESSION_TTL_SECONDS = 900;

  /** Failed logins one source may make per AUTH_FAILURE_WINDOW_SECONDS before it gets 429. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  AUTH_FAILURE_LIMIT = 20;

  /** Window over which failed logins are counted. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 1 to 86400' })
  @Min(1, { message: 'must be a whole number of seconds from 1 to 86400' })
  @Max(86_400, { message: 'must be a whole number of seconds from 1 to 86400' })
  AUTH_FAILURE_WINDOW_SECONDS = 60;

  /**
   * How long a worker's hold on a job lasts without renewal. A worker that dies mid-job
   * loses it after this long and another worker takes the job over.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 500 to 600000' })
  @Min(500, { message: 'must be a whole number of milliseconds from 500 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 500 to 600000' })
  QUEUE_LOCK_DURATION_MS = 30_000;

  /** Provisioning jobs one worker runs at once. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 64' })
  @Min(1, { message: 'must be a whole number from 1 to 64' })
  @Max(64, { message: 'must be a whole number from 1 to 64' })
  PROVISIONING_CONCURRENCY = 2;

  /** Attempts at provisioning an organization before its instance is FAILED. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 20' })
  @Min(1, { message: 'must be a whole number from 1 to 20' })
  @Max(20, { message: 'must be a whole number from 1 to 20' })
  PROVISIONING_ATTEMPTS = 3;

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
