import { randomBytes } from 'node:crypto';
import { withPgClient } from '#libs/database';
import { TEST_ENV, testEnv } from './test-environment.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server (or on `serverUrl`), for one test file. */
export async function createTestDatabase(serverUrl: string = testEnv(TEST_ENV.postgresUrl)): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withPgClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await withPgClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
