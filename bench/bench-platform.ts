import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startInProcessPlatform, type InProcessPlatform } from '../apps/platform/src/in-process-platform.js';
import { loadPlatformConfig, type PlatformConfig } from '#libs/config';
import { controlPlaneMigrationsDir, runMigrations } from '#libs/database';
import { createLogger } from '#libs/logging';
import { findFreePort } from '#libs/runtime';
import { dropOrgDatabases, dropRedisKeys, spawnPlatformProcess, type PlatformProcess } from '#libs/testing';
import type { BenchEnvironment } from './bench-environment.js';
import { httpJson } from './http-client.js';
import { withPgClient } from '#libs/database';

export const BENCH_ADMIN_TOKEN = 'plat_admin_bench-token-0123456789abcdefghijkl';

export interface BenchPlatform extends InProcessPlatform {
  config: PlatformConfig;
  /** Calls the API as the platform admin, or with `token`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read by the benchmark that asked
  call(method: string, path: string, body?: unknown, token?: string): Promise<any>;
  /** Creates an org and waits until it is READY; returns its admin token. */
  createOrg(slug: string): Promise<{ id: string; token: string; database: string }>;
  /** Runs SQL on the bench server as its superuser, in `database`, with the platform schema first on the search path. */
  sql<Row extends pg.QueryResultRow>(database: string, text: string, params?: unknown[]): Promise<Row[]>;
  stop(): Promise<void>;
}

const POLL_MS = 5;

/**
 * Tenant caps raised out of the way: the benchmarks measure throughput and latency of one
 * org at full load, not the caps (the noisy-neighbour benchmark sets its own).
 */
const UNCAPPED: Record<string, string> = {
  RATE_LIMIT_ORG_PER_SECOND: '1000000',
  RATE_LIMIT_TOKEN_PER_SECOND: '1000000',
  REALTIME_SOCKETS_PER_ORG: '100000',
  REALTIME_SOCKETS_PER_TOKEN: '100000',
  REALTIME_SUBSCRIPTIONS_PER_ORG: '1000000',
  REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND: '1000000',
  REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG: '100000',
  ORG_REQUESTS_IN_FLIGHT_MAX: '100000',
  ORG_REQUESTS_QUEUE_MAX: '100000',
  ORG_POOL_QUEUE_MAX: '100000',
};

type AdminCalls = Pick<BenchPlatform, 'call' | 'createOrg' | 'sql'>;

/**
 * What both shapes of the bench platform share: a control-plane database and Redis prefix
 * of their own, the settings that point at them, the admin calls against the API at a base
 * URL, and the teardown of the databases.
 */
async function benchControlPlane(environment: BenchEnvironment, logLevel: string, env: Record<string, string>) {
  const admin = new pg.Client({ connectionString: environment.postgresUrl });
  // Postgres stopping under an idle admin connection (a run failing elsewhere) must not hide that run's own error.
  admin.on('error', () => undefined);
  await admin.connect();
  const controlDatabase = `bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${controlDatabase}`);
  const urlOf = (database: string) => Object.assign(new URL(environment.postgresUrl), { pathname: `/${database}` }).toString();
  const controlUrl = urlOf(controlDatabase);
  await runMigrations(controlUrl, controlPlaneMigrationsDir());
  const settings: Record<string, string> = {
    DATABASE_URL: controlUrl,
    REDIS_URL: environment.redisUrl,
    REDIS_PREFIX: `bench-${controlDatabase}`,
    LOG_LEVEL: logLevel,
    PLATFORM_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    ...UNCAPPED,
    ...env,
  };
  return {
    settings,
    adminCalls(baseUrl: string): AdminCalls {
      const call: BenchPlatform['call'] = async (method, path, body, token = BENCH_ADMIN_TOKEN) => {
        const response = await httpJson(`${baseUrl}${path}`, method, { authorization: `Bearer ${token}` }, body);
        if (response.status >= 400) throw new Error(`${method} ${path} answered ${response.status}: ${response.text}`);
        return JSON.parse(response.text);
      };
      return {
        call,
        async createOrg(slug) {
          const created = await call('POST', '/v1/admin/orgs', { slug, name: slug });
          for (;;) {
            const { instance } = await call('GET', `/v1/admin/orgs/${slug}`);
            if (instance.status === 'READY') return { id: created.org.id, token: created.token, database: instance.database };
            if (instance.status === 'FAILED') throw new Error(`${slug} FAILED: ${instance.error}`);
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          }
        },
        async sql(database, text, params = []) {
          return withPgClient(urlOf(database), async (client) => {
            // As the platform sees an org database: its own tables in schema platform, the org's in public.
            await client.query('SET search_path = platform, public');
            return (await client.query(text, params)).rows;
          });
        },
      };
    },
    async drop() {
      await dropOrgDatabases(controlUrl);
      await admin.query(`DROP DATABASE ${controlDatabase} WITH (FORCE)`);
      await admin.end();
      // The platform's keys, on the shared Redis (a benchmark that points the platform elsewhere owns that server).
      if (settings.REDIS_URL === environment.redisUrl) await dropRedisKeys(environment.redisUrl, `${settings.REDIS_PREFIX}:*`);
    },
  };
}

/** The API and a worker in this process, with a control-plane database and Redis prefix of their own. */
export async function startBenchPlatform(environment: BenchEnvironment, env: Record<string, string> = {}): Promise<BenchPlatform> {
  const controlPlane = await benchControlPlane(environment, 'silent', env);
  const config = loadPlatformConfig(controlPlane.settings);
  const platform = await startInProcessPlatform(config, createLogger('bench', 'silent'), { withWorker: true });
  return {
    ...platform,
    config,
    ...controlPlane.adminCalls(platform.baseUrl),
    async stop() {
      await platform.close();
      await controlPlane.drop();
    },
  };
}

/** The platform as a deployment runs it: the API and the worker as built child processes of their own. */
export type BenchPlatformProcesses = Pick<BenchPlatform, 'call' | 'createOrg' | 'sql' | 'stop'> & {
  /** Where the API listens (127.0.0.1). */
  baseUrl: string;
  /** Process ids of the API and the worker, to read their memory. */
  apiPid: number;
  workerPid: number;
  /** The settings both processes were started with. */
  settings: Record<string, string>;
};

/**
 * With BENCH_CPU_PROF set to a folder, the API and the worker run under `node --cpu-prof` and
 * write their profiles there when they stop (`node dist/bench/profile-top.js <file>` prints the top functions).
 */
function profiling(): string[] {
  const folder = process.env.BENCH_CPU_PROF;
  return folder ? ['--cpu-prof', `--cpu-prof-dir=${folder}`] : [];
}

/**
 * Starts the built API and worker (`npm run build` first) as child processes with a
 * control-plane database and Redis prefix of their own, so the load generator (this
 * process) never shares a process with the platform it measures.
 */
export async function startBenchPlatformProcesses(
  environment: BenchEnvironment,
  env: Record<string, string> = {},
): Promise<BenchPlatformProcesses> {
  const port = await findFreePort();
  // Logging at `warn`, as the in-process bench platform is silent: a line per request would measure the log pipe.
  const controlPlane = await benchControlPlane(environment, 'warn', { PORT: String(port), ...env });
  const processes: PlatformProcess[] = [
    spawnPlatformProcess('api', controlPlane.settings, [], profiling()),
    spawnPlatformProcess('worker', controlPlane.settings, [], profiling()),
  ];
  const baseUrl = `http://127.0.0.1:${port}`;
  // Up once it answers; the worker is up once it provisions the benchmark's org.
  const stopProcesses = async () => {
    for (const child of processes) child.child.kill('SIGTERM');
    await Promise.all(processes.map((child) => child.waitForExit(30_000)));
  };
  for (;;) {
    const live = await httpJson(`${baseUrl}/health/live`, 'GET', {}).catch(() => undefined);
    if (live?.status === 200) break;
    if (processes[0]!.child.exitCode !== null) {
      // Leave nothing behind, so the error seen is this one and not a torn-down database's.
      await stopProcesses();
      await controlPlane.drop();
      throw new Error(`the API exited: ${processes[0]!.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 20));
  }
  return {
    ...controlPlane.adminCalls(baseUrl),
    baseUrl,
    apiPid: processes[0]!.child.pid!,
    workerPid: processes[1]!.child.pid!,
    settings: controlPlane.settings,
    async stop() {
      await stopProcesses();
      // BENCH_PLATFORM_OUTPUT=1 shows what the processes logged (at warn and above), to find why a run failed.
      if (process.env.BENCH_PLATFORM_OUTPUT) for (const child of processes) process.stderr.write(child.output().slice(-20_000));
      await controlPlane.drop();
    },
  };
}
