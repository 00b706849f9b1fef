import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { MigrationError, runMigrations } from './migration-runner.js';

describe('runMigrations (real Postgres)', () => {
  let database: TestDatabase;
  let dir: string;
  let client: pg.Client;

  beforeEach(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });

  afterEach(async () => {
    await client.end();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const tableNames = async () =>
    (await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map(
      (row) => row.tablename,
    );

  it('applies the files in version order and records each once', async () => {
    await writeFile(join(dir, '0002_add_color.sql'), 'ALTER TABLE widgets ADD COLUMN color text;');
    await writeFile(join(dir, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id int PRIMARY KEY);');

    const first = await runMigrations(database.url, dir);
    const second = await runMigrations(database.url, dir);

    expect(first).toEqual({ applied: ['0001', '0002'], schemaVersion: '0002' });
    expect(second).toEqual({ applied: [], schemaVersion: '0002' });
    expect(await tableNames()).toEqual(['schema_migrations', 'widgets']);
  });

  it('refuses to go on when an applied file was edited', async () => {
    await writeFile(join(dir, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id int PRIMARY KEY);');
    await runMigrations(database.url, dir);
    await writeFile(join(dir, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id bigint PRIMARY KEY);');

    await expect(runMigrations(database.url, dir)).rejects.toThrow(/0001_create_widgets\.sql was edited after it was applied/);
  });

  it('rolls a failing file back whole and keeps the ones before it', async () => {
    await writeFile(join(dir, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id int PRIMARY KEY);');
    await writeFile(join(dir, '0002_broken.sql'), 'CREATE TABLE gadgets (id int); SELECT no_such_function();');

    await expect(runMigrations(database.url, dir)).rejects.toThrow(MigrationError);
    expect(await tableNames()).toEqual(['schema_migrations', 'widgets']);
    const { rows } = await client.query('SELECT version FROM schema_migrations');
    expect(rows).toEqual([{ version: '0001' }]);
  });

  it('lets only one of several concurrent runners apply each file', async () => {
    // Not idempotent on purpose: a second application would fail on the duplicate table.
    await writeFile(join(dir, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id int PRIMARY KEY); SELECT pg_sleep(0.2);');

    const results = await Promise.all([1, 2, 3].map(() => runMigrations(database.url, dir)));

    expect(results.map((result) => result.applied.length).sort()).toEqual([0, 0, 1]);
    expect(results.every((result) => result.schemaVersion === '0001')).toBe(true);
  });

  it('rejects a file not named like 0001_description.sql', async () => {
    await writeFile(join(dir, 'create-widgets.sql'), 'SELECT 1;');
    await expect(runMigrations(database.url, dir)).rejects.toThrow(/not named like 0001_description\.sql/);
  });
});
