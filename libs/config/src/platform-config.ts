import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsCidrList } from './is-cidr-list.js';
import { IsConnectionUrl } from './is-connection-url.js';
import { ENCRYPTION_KEY_PATTERN } from './key-ring.js';

/** `host:port` pairs separated by commas, or nothing (host names, IPv4, or bracketed IPv6). */
const HOST_PORT_LIST = /^((\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}(,(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5})*)?$/;

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

  /**
   * Which proxies in front of the API to believe about the client's address (Fastify's
   * `trustProxy`): empty trusts none, `true` all, a number that many hops, or addresses
   * and subnets separated by commas. Failed-login limits count per client address, so set
   * it behind a reverse proxy, or every client shares the proxy's.
   */
  @Matches(/^(|true|false|\d{1,2}|[\w.:/]+(,[\w.:/]+)*)$/, {
    message: 'must be true, false, a hop count, or addresses/subnets separated by commas',
  })
  TRUST_PROXY = '';

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

  /**
   * Requests one process lets wait for a connection of one organization's pool (all it
   * may hold in use: ORG_POOL_MAX, fewer while ORG_POOLS_TOTAL_MAX has none left); more
   * are refused at once with 429 naming this limit, so a flooding org queues its own
   * work, never unbounded, and never another org's.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 100000' })
  @Min(0, { message: 'must be a whole number from 0 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 0 to 100000' })
  ORG_POOL_QUEUE_MAX = 50;

  /**
   * Connections one process may hold to all organization databases together, counted one
   * by one: a pool grows only into what is left, and idle pools are closed to make room
   * for an organization's first connection.
   */
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

  /**
   * Key (32 bytes, base64) that encrypts credentials and secrets at rest, or, to rotate,
   * `id:key` pairs separated by commas: the first encrypts, all decrypt. Unset: generated
   * once into DATA_DIR/secrets.json.
   */
  @IsOptional()
  @Matches(ENCRYPTION_KEY_PATTERN, {
    message: 'must be 32 bytes in base64 (openssl rand -base64 32), or id:key pairs separated by commas',
  })
  ENCRYPTION_KEY?: string = undefined;

  /**
   * HS256 secret of session JWTs, shared with PostgREST and Realtime, or, to rotate, `id:secret`
   * pairs separated by commas: the first signs, all verify. Unset: generated once into DATA_DIR/secrets.json.
   */
  @IsOptional()
  @IsString({ message: 'must be a string of at least 32 characters' })
  @MinLength(32, { message: 'must be a string of at least 32 characters' })
  JWT_SECRET?: string = undefined;

  /** Lifetime of a session JWT from POST /v1/auth/session. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 5 to 86400' })
  @Min(5, { message: 'must be a whole number of seconds from 5 to 86400' })
  @Max(86_400, { message: 'must be a whole number of seconds from 5 to 86400' })
  SESSION_TTL_SECONDS = 900;

  /**
   * How long a verified token is remembered by an API process (0: never). A revoked token
   * stops at once everywhere through Redis pub/sub; this bounds it if a message is lost.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 0 to 300000' })
  @Min(0, { message: 'must be a whole number of milliseconds from 0 to 300000' })
  @Max(300_000, { message: 'must be a whole number of milliseconds from 0 to 300000' })
  AUTH_CACHE_TTL_MS = 5000;

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
   * How long a job of a worker that died mid-job waits at most before another worker takes
   * it over: the job lock (three quarters of this) plus the stalled-job check interval (the
   * rest), see `jobLockTiming`.
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

  /** Tasks one worker process runs at once. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 256' })
  @Min(1, { message: 'must be a whole number from 1 to 256' })
  @Max(256, { message: 'must be a whole number from 1 to 256' })
  TASK_CONCURRENCY = 4;

  /** Time limit of a task that gives none; the task FAILS when it runs longer. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 86400000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 86400000' })
  @Max(86400000, { message: 'must be a whole number of milliseconds from 100 to 86400000' })
  TASK_DEFAULT_TIMEOUT_MS = 3_600_000;

  /** Attempts of a task that gives no maxAttempts; a failed attempt is retried with backoff until they are spent. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 20' })
  @Min(1, { message: 'must be a whole number from 1 to 20' })
  @Max(20, { message: 'must be a whole number from 1 to 20' })
  TASK_DEFAULT_MAX_ATTEMPTS = 1;

  /** Wait before the first retry of a failed attempt; it doubles with each further retry. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 0 to 3600000' })
  @Min(0, { message: 'must be a whole number of milliseconds from 0 to 3600000' })
  @Max(3600000, { message: 'must be a whole number of milliseconds from 0 to 3600000' })
  TASK_RETRY_BACKOFF_MS = 1000;

  /** How long a cancelled or timed-out shell task gets between SIGTERM and SIGKILL. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 0 to 600000' })
  @Min(0, { message: 'must be a whole number of milliseconds from 0 to 600000' })
  @Max(600000, { message: 'must be a whole number of milliseconds from 0 to 600000' })
  TASK_CANCEL_GRACE_MS = 5000;

  /** How long a finished task stays in Redis after its history is safely in Postgres. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 1 to 604800' })
  @Min(1, { message: 'must be a whole number of seconds from 1 to 604800' })
  @Max(604800, { message: 'must be a whole number of seconds from 1 to 604800' })
  TASK_RETENTION_SECONDS = 3600;

  /** Longest a line of task output waits in the buffer before it is flushed. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 10 to 60000' })
  @Min(10, { message: 'must be a whole number of milliseconds from 10 to 60000' })
  @Max(60000, { message: 'must be a whole number of milliseconds from 10 to 60000' })
  TASK_LOG_FLUSH_INTERVAL_MS = 2000;

  /** Buffered task output that triggers a flush at once. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of bytes from 256 to 1048576' })
  @Min(256, { message: 'must be a whole number of bytes from 256 to 1048576' })
  @Max(1048576, { message: 'must be a whole number of bytes from 256 to 1048576' })
  TASK_LOG_FLUSH_BYTES = 10240;

  /** Quiet time after output that triggers a flush, so live logs stay live. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 1 to 60000' })
  @Min(1, { message: 'must be a whole number of milliseconds from 1 to 60000' })
  @Max(60000, { message: 'must be a whole number of milliseconds from 1 to 60000' })
  TASK_LOG_IDLE_FLUSH_MS = 100;

  /** Org databases one worker writes finished tasks to at once (each write is one batch). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 256' })
  @Min(1, { message: 'must be a whole number from 1 to 256' })
  @Max(256, { message: 'must be a whole number from 1 to 256' })
  HISTORY_CONCURRENCY = 8;

  /** Wait between attempts at persisting a finished task while its org database is unreachable. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 10 to 600000' })
  @Min(10, { message: 'must be a whole number of milliseconds from 10 to 600000' })
  @Max(600000, { message: 'must be a whole number of milliseconds from 10 to 600000' })
  HISTORY_RETRY_INTERVAL_MS = 2000;

  /** How often a worker announces it is alive. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 60000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 60000' })
  @Max(60000, { message: 'must be a whole number of milliseconds from 100 to 60000' })
  WORKER_HEARTBEAT_INTERVAL_MS = 2000;

  /** A worker not heard from for this long is shown OFFLINE. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 500 to 600000' })
  @Min(500, { message: 'must be a whole number of milliseconds from 500 to 600000' })
  @Max(600000, { message: 'must be a whole number of milliseconds from 500 to 600000' })
  WORKER_OFFLINE_AFTER_MS = 10000;

  /** Events kept in each org event stream (older ones are trimmed); a client reconnecting with an older `since` must refetch. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 100 to 10000000' })
  @Min(100, { message: 'must be a whole number from 100 to 10000000' })
  @Max(10000000, { message: 'must be a whole number from 100 to 10000000' })
  EVENT_STREAM_MAX_LENGTH = 10000;

  /** Task classes this worker runs, comma-separated (critical, normal, batch). */
  @Matches(/^(critical|normal|batch)(,(critical|normal|batch))*$/, {
    message: 'must be task classes separated by commas: critical, normal, batch',
  })
  WORKER_CLASSES = 'critical,normal,batch';

  /** How long one webhook delivery may take before it counts as failed. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 120000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 120000' })
  @Max(120_000, { message: 'must be a whole number of milliseconds from 100 to 120000' })
  WEBHOOK_TIMEOUT_MS = 5000;

  /** Attempts at delivering one webhook event before it is given up. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 50' })
  @Min(1, { message: 'must be a whole number from 1 to 50' })
  @Max(50, { message: 'must be a whole number from 1 to 50' })
  WEBHOOK_MAX_ATTEMPTS = 8;

  /** Wait before the first retry of a failed webhook delivery; it doubles with each further retry. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 0 to 3600000' })
  @Min(0, { message: 'must be a whole number of milliseconds from 0 to 3600000' })
  @Max(3_600_000, { message: 'must be a whole number of milliseconds from 0 to 3600000' })
  WEBHOOK_RETRY_BACKOFF_MS = 1000;

  /** A change a trigger worker took but did not finish (it died) is taken over by another after this long. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Max(3_600_000, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  TRIGGER_RECLAIM_AFTER_MS = 30_000;

  /** How often the resource sweeper releases leases past their expiry. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 50 to 60000' })
  @Min(50, { message: 'must be a whole number of milliseconds from 50 to 60000' })
  @Max(60000, { message: 'must be a whole number of milliseconds from 50 to 60000' })
  RESOURCE_SWEEP_INTERVAL_MS = 1000;

  /** How often a worker writes resource changes queued in Redis to the org databases (and retries while one is down). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 10 to 60000' })
  @Min(10, { message: 'must be a whole number of milliseconds from 10 to 60000' })
  @Max(60000, { message: 'must be a whole number of milliseconds from 10 to 60000' })
  RESOURCE_SYNC_INTERVAL_MS = 200;

  /** How long an ended lease stays readable in Redis; after that it is answered from the org database. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 1 to 604800' })
  @Min(1, { message: 'must be a whole number of seconds from 1 to 604800' })
  @Max(604800, { message: 'must be a whole number of seconds from 1 to 604800' })
  RESOURCE_ENDED_RETENTION_SECONDS = 3600;

  /** Events older than this are trimmed from each org event stream too, whatever their number; bounds replay with `since` by age. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 60 to 2592000' })
  @Min(60, { message: 'must be a whole number of seconds from 60 to 2592000' })
  @Max(2_592_000, { message: 'must be a whole number of seconds from 60 to 2592000' })
  EVENT_STREAM_MAX_AGE_SECONDS = 86_400;

  /** How often one elected API process trims every event stream by age. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Max(3_600_000, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  EVENT_STREAM_TRIM_INTERVAL_MS = 60_000;

  /**
   * Whether /metrics labels the platform's own gauges per organization (event stream
   * length, leases per pool, ...). Off by default: a thousand orgs would mean a thousand
   * series per family; the totals are always there.
   */
  @IsIn(['on', 'off'], { message: 'must be on or off' })
  METRICS_ORG_LABELS: 'on' | 'off' = 'off';

  /** Whether this API process takes part in relaying org database changes (WAL or Supabase Realtime) into the event streams. */
  @IsIn(['on', 'off'], { message: 'must be on or off' })
  REALTIME_RELAY: 'on' | 'off' = 'on';

  /** How often the relay looks for new READY orgs and released ones in the registry. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 600000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 100 to 600000' })
  REALTIME_RELAY_POLL_MS = 3000;

  /**
   * How long an API process's lease on relaying one org lasts unrenewed (renewed every
   * third of it). After a relaying process dies, another takes the org over within this.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 300 to 600000' })
  @Min(300, { message: 'must be a whole number of milliseconds from 300 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 300 to 600000' })
  REALTIME_RELAY_LEASE_MS = 10_000;

  /** Packets waiting to be written to one socket past which it is a slow consumer: its subscriptions are dropped and it gets `resync`. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 10 to 1000000' })
  @Min(10, { message: 'must be a whole number from 10 to 1000000' })
  @Max(1_000_000, { message: 'must be a whole number from 10 to 1000000' })
  REALTIME_SOCKET_BUFFER_MAX = 1000;

  /**
   * Executables the `shell` task type may run, comma-separated: bare names (resolved once,
   * at worker start, on the worker's own PATH) or absolute paths; `none` allows none.
   * Unset allows `echo` alone, so a first shell task works and can do nothing but print
   * its arguments.
   */
  @Transform(({ value }: { value: unknown }) => (value === 'none' ? '' : value))
  @IsString({ message: 'must be executable names or absolute paths separated by commas' })
  @Matches(/^(([\w.+-]+|\/[\w.+/-]+)(,([\w.+-]+|\/[\w.+/-]+))*)?$/, {
    message: 'must be executable names or absolute paths separated by commas',
  })
  TASK_SHELL_ALLOW = 'echo';

  /** Redis for queues and live state; unset uses REDIS_PROBE_URL if it answers, else starts redis-server. */
  @IsOptional()
  @IsConnectionUrl(['redis:', 'rediss:'])
  REDIS_URL?: string = undefined;

  /** Where to look for an already running Redis when REDIS_URL is unset. */
  @IsConnectionUrl(['redis:', 'rediss:'])
  REDIS_PROBE_URL = 'redis://127.0.0.1:6379';

  /**
   * Redis Cluster nodes to start from (`host:port`, comma-separated); set, the platform runs
   * on the cluster instead of REDIS_URL. Credentials, if any, come from REDIS_URL.
   */
  @Matches(HOST_PORT_LIST, { message: 'must be host:port pairs separated by commas' })
  REDIS_CLUSTER_NODES = '';

  /**
   * Redis Sentinels (`host:port`, comma-separated); set, the platform asks them for the
   * primary named REDIS_SENTINEL_NAME and follows it through failovers. Credentials, if any,
   * come from REDIS_URL.
   */
  @Matches(HOST_PORT_LIST, { message: 'must be host:port pairs separated by commas' })
  REDIS_SENTINELS = '';

  /** The primary's name the sentinels know it by (`sentinel monitor <name> ...`). */
  @Matches(/^[\w.-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, ".", "-" or "_"' })
  REDIS_SENTINEL_NAME = 'mymaster';

  /** Prefix of every Redis key, so several platforms (or test runs) can share one Redis. */
  @Matches(/^[a-zA-Z0-9_-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, "-" or "_"' })
  REDIS_PREFIX = 'platform';

  /** Folder for the embedded services' data (PostgreSQL cluster, Redis AOF) and shell tasks' working directories (task-work/). */
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

  // Running tasks safely: environment names, the task user, resource limits, output size.

  /**
   * Opt-in allow-list of the environment variable names a `shell` task's `env` may set,
   * comma-separated; empty allows every name the built-in deny-list does not refuse. The
   * deny-list (README, Security) applies either way.
   */
  @Matches(/^([A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*)?$/, { message: 'must be variable names separated by commas' })
  TASK_ENV_ALLOW = '';

  /**
   * Unprivileged user (name or uid) `shell` tasks run as; the worker must run as root to
   * switch to it. Unset: tasks run as the worker's own user (and TASK_LIMIT_PROCESSES does
   * not hold for root).
   */
  @IsOptional()
  @Matches(/^[a-z_][a-z0-9_-]{0,31}\$?$|^[1-9][0-9]{0,9}$/, { message: 'must be a user name or a non-zero uid' })
  TASK_RUN_AS_USER?: string = undefined;

  /** CPU seconds one `shell` task process may use (RLIMIT_CPU, through prlimit); 0: no limit. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of seconds from 0 to 31536000' })
  @Min(0, { message: 'must be a whole number of seconds from 0 to 31536000' })
  @Max(31_536_000, { message: 'must be a whole number of seconds from 0 to 31536000' })
  TASK_LIMIT_CPU_SECONDS = 3600;

  /** Address space of one `shell` task process in MiB (RLIMIT_AS, through prlimit); 0: no limit. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of MiB from 0 to 1048576' })
  @Min(0, { message: 'must be a whole number of MiB from 0 to 1048576' })
  @Max(1_048_576, { message: 'must be a whole number of MiB from 0 to 1048576' })
  TASK_LIMIT_ADDRESS_SPACE_MB = 4096;

  /** Open files of one `shell` task process (RLIMIT_NOFILE, through prlimit); 0: no limit. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 1048576' })
  @Min(0, { message: 'must be a whole number from 0 to 1048576' })
  @Max(1_048_576, { message: 'must be a whole number from 0 to 1048576' })
  TASK_LIMIT_OPEN_FILES = 1024;

  /**
   * Processes the task user may have at once (RLIMIT_NPROC, through prlimit); 0: no limit.
   * The kernel does not enforce it for root, so it needs TASK_RUN_AS_USER.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 1000000' })
  @Min(0, { message: 'must be a whole number from 0 to 1000000' })
  @Max(1_000_000, { message: 'must be a whole number from 0 to 1000000' })
  TASK_LIMIT_PROCESSES = 256;

  /** Output kept per task attempt; past it, output is dropped and one SYSTEM line says how much. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of bytes from 1024 to 1073741824' })
  @Min(1024, { message: 'must be a whole number of bytes from 1024 to 1073741824' })
  @Max(1_073_741_824, { message: 'must be a whole number of bytes from 1024 to 1073741824' })
  TASK_OUTPUT_MAX_BYTES = 10_485_760;
  // Credential lifetime
  /** How often an API process writes the tokens it saw used to `lastUsedAt`; requests never wait for the write. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Min(100, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  @Max(3_600_000, { message: 'must be a whole number of milliseconds from 100 to 3600000' })
  TOKEN_LAST_USED_FLUSH_MS = 60_000;
  // Operational state: configuration and document stores.
  /** Largest configuration value, in bytes of its JSON; larger ones are refused with 400. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of bytes from 1 to 1048576' })
  @Min(1, { message: 'must be a whole number of bytes from 1 to 1048576' })
  @Max(1_048_576, { message: 'must be a whole number of bytes from 1 to 1048576' })
  CONFIG_VALUE_MAX_BYTES = 65_536;

  /** Largest document (its `data`), in bytes of its JSON; larger ones are refused with 400. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of bytes from 1 to 1048576' })
  @Min(1, { message: 'must be a whole number of bytes from 1 to 1048576' })
  @Max(1_048_576, { message: 'must be a whole number of bytes from 1 to 1048576' })
  DOCUMENT_MAX_BYTES = 262_144;
  // Tenant limits: outbound requests, per-org quotas, request rates and realtime caps.

  /**
   * Address ranges outbound requests (webhooks) may reach although they are loopback,
   * private, link-local or otherwise internal: CIDRs separated by commas. Empty allows
   * only public unicast addresses.
   */
  @IsCidrList()
  OUTBOUND_ALLOW_CIDRS = '';

  /** Webhook delivery retries one org may make per minute; further retries wait for the next minute. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  WEBHOOK_RETRIES_PER_ORG_PER_MINUTE = 120;

  /** Resource pools one org may have. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  QUOTA_POOLS = 100;

  /** Environments (retired ones included) one pool may have. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1000000, { message: 'must be a whole number from 1 to 1000000' })
  QUOTA_ENVIRONMENTS_PER_POOL = 1000;

  /**
   * Callers of POST /v1/pools/:pool/allocations with waitSeconds that may wait for one pool
   * at once, all API processes together (tasks waiting for the pool count among them but
   * are never refused); more get 409 naming this limit. A waiting caller costs its API
   * process an open connection and no work, so waiters do not count against
   * ORG_REQUESTS_IN_FLIGHT_MAX.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  QUOTA_LEASE_WAITERS_PER_POOL = 100;

  /** Schedules one org may have. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  QUOTA_SCHEDULES = 100;

  /** Shortest interval a schedule may tick at (everyMs, or the gap between two cron times). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 1000 to 86400000' })
  @Min(1000, { message: 'must be a whole number of milliseconds from 1000 to 86400000' })
  @Max(86400000, { message: 'must be a whole number of milliseconds from 1000 to 86400000' })
  SCHEDULE_MIN_INTERVAL_MS = 1000;

  /** Webhooks one org may have. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 10000' })
  @Min(1, { message: 'must be a whole number from 1 to 10000' })
  @Max(10000, { message: 'must be a whole number from 1 to 10000' })
  QUOTA_WEBHOOKS = 20;

  /** Change triggers one org may have. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 10000' })
  @Min(1, { message: 'must be a whole number from 1 to 10000' })
  @Max(10000, { message: 'must be a whole number from 1 to 10000' })
  QUOTA_TRIGGERS = 50;

  /** API tokens one org may have that are neither revoked nor expired. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  QUOTA_TOKENS = 100;

  /** HTTP requests per second one org may make, all its tokens together; more get 429. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1000000, { message: 'must be a whole number from 1 to 1000000' })
  RATE_LIMIT_ORG_PER_SECOND = 1000;

  /** HTTP requests per second one API token (or the sessions made from it) may make; more get 429. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1000000, { message: 'must be a whole number from 1 to 1000000' })
  RATE_LIMIT_TOKEN_PER_SECOND = 600;

  /**
   * Bytes of an answer's body that cost its request one more point of its token's and its
   * org's request rate (RATE_LIMIT_TOKEN_PER_SECOND, RATE_LIMIT_ORG_PER_SECOND), taken once
   * the answer is sent: reading, encoding and sending a long list is most of what it costs,
   * so an org reading large pages makes fewer requests a second (about this many bytes
   * times its rate, at most). What an answer overdraws is paid back in the next seconds,
   * its requests refused meanwhile.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1024 to 1073741824' })
  @Min(1024, { message: 'must be a whole number from 1024 to 1073741824' })
  @Max(1_073_741_824, { message: 'must be a whole number from 1024 to 1073741824' })
  RATE_LIMIT_RESPONSE_BYTES_PER_POINT = 16384;

  /**
   * Longest a request is held before its 429 is sent, when it arrives while this process
   * already knows its token's or org's rate window to be used up: the answer goes when the
   * window reopens, or after this long. A client that waits out Retry-After never meets it;
   * one that asks again at once is slowed to one try per connection and window. 0 answers
   * at once.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 60000' })
  @Min(0, { message: 'must be a whole number from 0 to 60000' })
  @Max(60_000, { message: 'must be a whole number from 0 to 60000' })
  RATE_LIMIT_REFUSAL_HOLD_MS = 1000;

  /**
   * HTTP requests of one org one API process works on at once, all its tokens together;
   * more wait their turn in the org's own queue, so one org's flood cannot fill the
   * process's event loop ahead of other orgs' requests.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  ORG_REQUESTS_IN_FLIGHT_MAX = 8;

  /** HTTP requests of one org that may wait for one of its ORG_REQUESTS_IN_FLIGHT_MAX places in one API process; more get 429 naming this limit. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 100000' })
  @Min(0, { message: 'must be a whole number from 0 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 0 to 100000' })
  ORG_REQUESTS_QUEUE_MAX = 1000;

  /**
   * Points of one org's HTTP requests and realtime subscribe set-ups together (one each, a
   * long list more: ORG_REQUEST_ROWS_PER_POINT) one API process works on at once while its event loop is busy (API_LOOP_BUSY_PERCENT) and another org
   * has been active there within the last second; the org's further ones wait, costing
   * nothing, until one of these ends or the loop has room (one still running after a
   * second waits on something else, a lease say, and stops counting). Orgs running fewer
   * are not held back. At ORG_REQUESTS_IN_FLIGHT_MAX plus REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG or more,
   * it holds no one back.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY = 2;

  /**
   * Rows a list call asks for (its `limit`) that weigh one more point against
   * ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY: reading, encoding and sending rows is most of a list's
   * cost, so a busy loop runs fewer long lists of one org at once than creates.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  ORG_REQUEST_ROWS_PER_POINT = 100;

  /** Event-loop utilisation (percent of the last API_LOOP_SAMPLE_MS spent running callbacks) at which an API process counts as busy. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100' })
  @Min(1, { message: 'must be a whole number from 1 to 100' })
  @Max(100, { message: 'must be a whole number from 1 to 100' })
  API_LOOP_BUSY_PERCENT = 60;

  /** How often an API process samples its event-loop utilisation (milliseconds). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 10 to 10000' })
  @Min(10, { message: 'must be a whole number from 10 to 10000' })
  @Max(10_000, { message: 'must be a whole number from 10 to 10000' })
  API_LOOP_SAMPLE_MS = 100;

  /** Realtime subscribes one org may start per second, all its sockets on every API process together; more wait for the next second. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1_000_000, { message: 'must be a whole number from 1 to 1000000' })
  REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND = 100;

  /**
   * Snapshot bytes that cost a subscribe one more point of REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND:
   * reading, encoding and sending a snapshot is most of a subscribe's cost, so an org
   * subscribing to large snapshots gets fewer per second (at most about this times the
   * rate in snapshot bytes per second), not as many as one subscribing to small ones.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1024 to 104857600' })
  @Min(1024, { message: 'must be a whole number from 1024 to 104857600' })
  @Max(104857600, { message: 'must be a whole number from 1024 to 104857600' })
  REALTIME_SNAPSHOT_BYTES_PER_SUBSCRIBE_POINT = 16384;

  /**
   * Subscribes of one org one API process sets up at once (each reads and sends a
   * snapshot); more wait their turn behind them, in order, without holding up other orgs.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100_000, { message: 'must be a whole number from 1 to 100000' })
  REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG = 8;

  /** Realtime connections (Socket.IO sockets and Supabase Realtime connections together) one org may hold open at once, across every API process. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1000000, { message: 'must be a whole number from 1 to 1000000' })
  REALTIME_SOCKETS_PER_ORG = 200;

  /** Realtime connections of both protocols one API token (or its sessions) may hold open at once, across every API process. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 1000000' })
  @Min(1, { message: 'must be a whole number from 1 to 1000000' })
  @Max(1000000, { message: 'must be a whole number from 1 to 1000000' })
  REALTIME_SOCKETS_PER_TOKEN = 20;

  /**
   * How long a Socket.IO connection refused for REALTIME_SOCKETS_PER_TOKEN or
   * REALTIME_SOCKETS_PER_ORG waits for its refusal, so a client reconnecting at once tries
   * once per this long instead of as often as the process can refuse it. At most
   * REALTIME_SOCKETS_PER_TOKEN of an org's refusals wait at once per process; past that
   * they are answered at once. 0 answers at once.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 60000' })
  @Min(0, { message: 'must be a whole number from 0 to 60000' })
  @Max(60_000, { message: 'must be a whole number from 0 to 60000' })
  REALTIME_CONNECT_REFUSAL_HOLD_MS = 1000;

  /** Subscriptions one realtime socket may hold at once. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 100000' })
  @Min(1, { message: 'must be a whole number from 1 to 100000' })
  @Max(100000, { message: 'must be a whole number from 1 to 100000' })
  REALTIME_SUBSCRIPTIONS_PER_SOCKET = 100;

  /** Subscriptions one org may hold at once, over all its sockets on every API process. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 10000000' })
  @Min(1, { message: 'must be a whole number from 1 to 10000000' })
  @Max(10000000, { message: 'must be a whole number from 1 to 10000000' })
  REALTIME_SUBSCRIPTIONS_PER_ORG = 2000;

  /** Largest snapshot (JSON bytes) one subscription may be answered with; a larger one is refused, naming this limit. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1024 to 104857600' })
  @Min(1024, { message: 'must be a whole number from 1024 to 104857600' })
  @Max(104857600, { message: 'must be a whole number from 1024 to 104857600' })
  REALTIME_SNAPSHOT_MAX_BYTES = 1048576;

  /** Live events one subscription may hold back while it replays from `since`; past it the socket gets `resync`. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 10 to 10000000' })
  @Min(10, { message: 'must be a whole number from 10 to 10000000' })
  @Max(10000000, { message: 'must be a whole number from 10 to 10000000' })
  REALTIME_PENDING_EVENTS_MAX = 10000;

  /** How long a realtime socket counts against its org and token caps without its API process renewing it (a killed process frees its slots after this). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 1000 to 3600000' })
  @Min(1000, { message: 'must be a whole number of milliseconds from 1000 to 3600000' })
  @Max(3600000, { message: 'must be a whole number of milliseconds from 1000 to 3600000' })
  REALTIME_SLOT_TTL_MS = 30000;
  // Realtime relay capacity
  /**
   * Replication slots and WAL senders of each org cluster the relays leave free: the relay
   * capacity of a cluster is min(max_replication_slots, max_wal_senders) minus this, for
   * backups (pg_basebackup), a physical standby or Supabase Realtime's own slot.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 0 to 1000' })
  @Min(0, { message: 'must be a whole number from 0 to 1000' })
  @Max(1000, { message: 'must be a whole number from 0 to 1000' })
  REALTIME_SLOT_RESERVE = 2;

  // Task tier: outbox reconciler, batched history, fault points.
  /** How often the elected reconciler looks for task hand-offs a crash interrupted (enqueue a run, persist history, remove a cancelled job). */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 50 to 600000' })
  @Min(50, { message: 'must be a whole number of milliseconds from 50 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 50 to 600000' })
  TASK_OUTBOX_RECONCILE_INTERVAL_MS = 2000;

  /**
   * How old an outbox entry must be before the reconciler finishes its hand-off itself;
   * the process that recorded it normally finishes it well within this.
   */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number of milliseconds from 50 to 600000' })
  @Min(50, { message: 'must be a whole number of milliseconds from 50 to 600000' })
  @Max(600_000, { message: 'must be a whole number of milliseconds from 50 to 600000' })
  TASK_OUTBOX_GRACE_MS = 5000;

  /** Finished tasks of one org written to its database in one transaction at most. */
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number from 1 to 5000' })
  @Min(1, { message: 'must be a whole number from 1 to 5000' })
  @Max(5000, { message: 'must be a whole number from 1 to 5000' })
  HISTORY_BATCH_SIZE = 500;

  /**
   * For fault tests only: the process kills itself (SIGKILL) at this named step of the
   * task tier, `name` or `name@n` for its n-th pass (see docs/architecture.md). Empty: never.
   */
  @Matches(/^([a-z-]+(@[1-9][0-9]{0,6})?)?$/, { message: 'must be a fault point name, optionally followed by @<count>' })
  PLATFORM_FAULT_POINT = '';
}
