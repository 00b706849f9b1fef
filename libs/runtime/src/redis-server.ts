import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { PlatformConfig } from '#libs/config';
import { connectRedis, REDIS_DISCONNECT_GRACE_MS } from '#libs/redis';
import type { Logger } from 'pino';
import { StartupError } from './startup-error.js';
import { findFreePort, stopOrphanedProcess, waitUntil } from './process-utils.js';

export interface RunningRedis {
  url: string;
  /** Stops the server if this process started it; a found one is left alone. */
  stop(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export const REDIS_INSTALL_HINT =
  'no Redis found: set REDIS_URL, or install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or run `docker compose up -d redis`';

/** True when a Redis answers PING at `url` within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    disconnectTimeout: REDIS_DISCONNECT_GRACE_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const answered = (await client.ping()) === 'PONG';
    await client.quit();
    return answered;
  } catch {
    client.disconnect();
    return false;
  }
}

/**
 * True when the configured Redis deployment (standalone, cluster or sentinel-managed
 * primary) answers PING within `timeoutMs`.
 */
export async function redisDeploymentAnswers(
  config: Pick<PlatformConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'>,
  timeoutMs: number,
): Promise<boolean> {
  const client = connectRedis(config, { connectTimeout: timeoutMs, disconnectTimeout: REDIS_DISCONNECT_GRACE_MS, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
  try {
    return await Promise.race([
      client.ping().then(
        (reply) => reply === 'PONG',
        () => false,
      ),
      timeout,
    ]);
  } finally {
    client.disconnect();
  }
}

/**
 * Uses the Redis at `probeUrl` if one answers there, otherwise starts `redis-server`
 * from PATH on a free port with AOF persistence under `dataDir`.
 */
export async function findOrStartRedis(options: { probeUrl: string; dataDir: string; logger: Logger }): Promise<RunningRedis> {
  const { probeUrl, dataDir, logger } = options;
  if (await redisAnswers(probeUrl)) {
    logger.info({ url: probeUrl }, 'using the Redis already running');
    return { url: probeUrl, stop: async () => undefined };
  }
  await mkdir(dataDir, { recursive: true });
  const pidFile = join(dataDir, 'redis.pid');
  await stopOrphanedProcess(pidFile, 'SIGTERM', logger);
  const port = await findFreePort();
  const child = spawn(
    'redis-server',
    [
      ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dataDir, '--pidfile', pidFile, '--logfile', 'redis.log'],
      ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(undefined));
  });
  if (spawnError)
    throw new StartupError(
      (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? REDIS_INSTALL_HINT : `redis-server failed to start: ${spawnError.message}`,
    );

  const url = `redis://127.0.0.1:${port}`;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  await waitUntil(async () => exitCode !== undefined || (await redisAnswers(url)), START_TIMEOUT_MS, `redis-server on port ${port}`);
  if (exitCode !== undefined) throw new StartupError(`redis-server exited with code ${exitCode} before answering`);
  logger.info({ url, dataDir }, 'started redis-server');
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await waitUntil(() => child.exitCode !== null || child.signalCode !== null, STOP_TIMEOUT_MS, 'redis-server to stop');
    },
  };
}
