import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { PlatformConfig } from '#libs/config';
import { QueueName, TASK_CLASSES, taskQueueName } from '#libs/contracts';
import { controlPlaneMigrationsDir, runMigrations } from '#libs/database';
import { RedisKeys } from '#libs/redis';
import { createLogger } from '#libs/logging';
import {
  createTestDatabase,
  createTestRedis,
  dropOrgDatabases,
  testConfig,
  waitFor,
  waitForQueuesDrained,
  waitForTaskOutboxesDrained,
  type TestDatabase,
  type TestRedis,
} from '#libs/testing';
import { startInProcessPlatform } from '../../platform/src/in-process-platform.js';
import { withPgClient } from '#libs/database';
import { OrgClusters, withPlatformSearchPath } from '#libs/registry';

/** The platform admin token every test platform is started with. */
export const TEST_ADMIN_TOKEN = 'plat_admin_test-token-0123456789abcdefghijklmnop';

export interface CreatedOrg {
  id: string;
  slug: string;
  /** The org's first admin API token. */
  token: string;
}

export interface TestPlatform {
  api: INestApplication;
  worker?: INestApplicationContext;
  config: PlatformConfig;
  /** The settings the platform runs with, for starting more processes on the same platform. */
  env: Record<string, string>;
  baseUrl: string;
  database: TestDatabase;
  redis: TestRedis;
  /** Calls the API; `token` defaults to the platform admin token. */
  request(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** Creates an org through the admin API and waits until its database is READY. */
  createOrg(slug?: string): Promise<CreatedOrg>;
  /**
   * Runs SQL in the org's own database as the cluster superuser (to check what landed there),
   * with the platform's search path: platform tables unqualified, a user table made here must say `public.`.
   */
  queryOrgDatabase<Row = any>(slug: string, sql: string, params?: unknown[]): Promise<Row[]>;
  /**
   * Waits until no task, schedule or webhook job is waiting, delayed or running and every
   * task outbox is empty (each finished task's history written), so nothing can still
   * create, retry or persist anything: counts taken after are final.
   * A delayed task or an unpaused schedule's next tick counts as waiting: pause them first.
   */
  waitForQueuesDrained(timeoutMs?: number): Promise<void>;
  /**
   * Creates a user table in the org's `public` schema, as a user would with plain SQL
   * (`key text` primary key, `value jsonb`, `updated_by text`), readable by the org's sessions:
   * published, so its changes are relayed (platform tables never are).
   */
  createUserTable(slug: string, table?: string): Promise<void>;
  /** Waits until the org's instance has `status`; returns the instance view. */
  waitForStatus(slug: string, status: string, timeoutMs?: number): Promise<any>;
  /** Stops the platform; with `keepData`, leaves its databases and Redis keys for `startTestPlatform({ restartOf })`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Boots the real API over HTTP on a free port and, unless `withWorker` is false, a worker
 * in the same process, with a control-plane database and Redis prefix of their own. Org
 * databases land on the test Postgres server; `close()` drops them and their roles.
 */
export async function startTestPlatform(
  options: {
    env?: Record<string, string>;
    withWorker?: boolean;
    logs?: DestinationStream;
    controlPlaneServerUrl?: string;
    /** The Redis to run on (a test cluster's or sentinels' `testRedis()`); default: a prefix of its own on the standalone test Redis. */
    redis?: TestRedis;
    /** A platform closed with `keepData`: start again on its databases, Redis prefix and settings, as a restart does. */
    restartOf?: TestPlatform;
  } = {},
): Promise<TestPlatform> {
  const database = options.restartOf?.database ?? (await createTestDatabase(options.controlPlaneServerUrl));
  const redis = options.restartOf?.redis ?? options.redis ?? createTestRedis();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    ...redis.env,
    REDIS_PREFIX: redis.prefix,
    PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    AUTH_FAILURE_LIMIT: '10000',
    PROVISIONING_ATTEMPTS: '1',
    ...options.restartOf?.env,
    ...options.env,
  };
  const config = testConfig(env);
  await runMigrations(database.url, controlPlaneMigrationsDir());
  const logger = options.logs ? createLogger('test', 'info', options.logs) : createLogger('test', 'silent');
  const { api, worker, baseUrl, close } = await startInProcessPlatform(config, logger, { withWorker: options.withWorker !== false });

  const request: TestPlatform['request'] = async (method, path, { token = TEST_ADMIN_TOKEN, body } = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const waitForStatus: TestPlatform['waitForStatus'] = (slug, status, timeoutMs = 60_000) =>
    waitFor(
      `org ${slug} to be ${status}`,
      async () => {
        const { body } = await request('GET', `/v1/admin/orgs/${slug}`);
        if (body?.instance?.status === 'FAILED' && status !== 'FAILED') throw new Error(`org ${slug} FAILED: ${body.instance.error}`);
        return body?.instance?.status === status ? body.instance : undefined;
      },
      timeoutMs,
    );

  const queryOrgDatabase: TestPlatform['queryOrgDatabase'] = async (slug, sql, params = []) => {
    const { body } = await request('GET', `/v1/admin/orgs/${slug}`);
    const url = body.instance.cluster
      ? api.get(OrgClusters).databaseUrl(body.instance.cluster, body.instance.database)
      : Object.assign(new URL(database.url), { pathname: `/${body.instance.database}` }).toString();
    return withPgClient(withPlatformSearchPath(url), async (client) => (await client.query(sql, params)).rows);
  };

  return {
    api,
    worker,
    config,
    env,
    baseUrl,
    database,
    redis,
    request,
    waitForStatus,
    async waitForQueuesDrained(timeoutMs) {
      const connection = redis.connect();
      const names = [...TASK_CLASSES.map(taskQueueName), QueueName.schedules, QueueName.webhookDeliveries];
      const keys = api.get(RedisKeys);
      const queues = names.map((name) => new Queue(name, { connection, prefix: keys.queuePrefix(name) }));
      try {
        // The outboxes first: a pending enqueue hand-off still adds a job to the queues.
        await waitForTaskOutboxesDrained(connection, keys, timeoutMs);
        await waitForQueuesDrained(queues, timeoutMs);
        await waitForTaskOutboxesDrained(connection, keys, timeoutMs);
      } finally {
        await Promise.all(queues.map((queue) => queue.close()));
        connection.disconnect();
      }
    },
    async createOrg(slug = `org-${randomBytes(4).toString('hex')}`) {
      const created = await request('POST', '/v1/admin/orgs', { body: { slug, name: `Org ${slug}` } });
      if (created.status !== 202) throw new Error(`creating org ${slug} answered ${created.status}: ${JSON.stringify(created.body)}`);
      await waitForStatus(slug, 'READY');
      return { id: created.body.org.id, slug, token: created.body.token };
    },
    queryOrgDatabase,
    async createUserTable(slug, table = 'entries') {
      const name = `public.${table}`;
      await queryOrgDatabase(slug, `CREATE TABLE ${name} (key text PRIMARY KEY, value jsonb NOT NULL, updated_by text)`);
      await queryOrgDatabase(slug, `GRANT SELECT ON ${name} TO authenticated`);
    },
    async close({ keepData = false } = {}) {
      await close();
      if (keepData) return;
      await dropOrgDatabases(database.url);
      await redis.cleanup();
      await database.drop();
    },
  };
}
