import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { controlPlaneMigrationsDir, runMigrations } from '#libs/database';
import { createLogger } from '#libs/runtime';
import { createTestDatabase, createTestRedis, testConfig, type TestDatabase, type TestRedis } from '#libs/testing';
import { createApiApp } from '../src/create-api-app.js';

/** The platform admin token every test API is started with. */
export const TEST_ADMIN_TOKEN = 'plat_admin_test-token-0123456789abcdefghijklmnop';

export interface TestApi {
  app: INestApplication;
  baseUrl: string;
  database: TestDatabase;
  redis: TestRedis;
  /** Closes the app and removes its database and keys. */
  close(): Promise<void>;
}

/**
 * Boots the real API over real HTTP on a free port, with a database and a Redis key
 * prefix of its own; `env` adds or overrides settings.
 */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const redis = createTestRedis();
  const config = testConfig({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ...env,
  });
  await runMigrations(database.url, controlPlaneMigrationsDir());
  const app = await createApiApp(config, createLogger('api-test', 'silent'));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    redis,
    async close() {
      await app.close();
      await redis.cleanup();
      await database.drop();
    },
  };
}
