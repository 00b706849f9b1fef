import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import { latestOrgSchemaVersion, spawnPlatformProcess, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

/**
 * The org tables a backup must carry, each with a stable order to compare it in. A new
 * org table joins the round trip by adding a line (and getting rows in `fill` below).
 */
const ORG_TABLES: { table: string; orderBy: string }[] = [
  { table: 'config_entries', orderBy: 'key' },
  { table: 'tasks', orderBy: 'id' },
  { table: 'task_attempts', orderBy: 'task_id, attempt' },
  { table: 'task_logs', orderBy: 'task_id, seq' },
  { table: 'documents', orderBy: 'collection, id' },
  { table: 'audit_log', orderBy: 'id' },
];

describe('npm run ops: backup and restore of one org database, status and upgrade (real Postgres, real process)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let member: OrgClaims;
  let folder: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_SHELL_ALLOW: 'echo' } });
    org = await platform.createOrg();
    member = { sub: randomUUID(), role: 'authenticated', org_id: org.id, app_role: 'member' };
    folder = await mkdtemp(join(tmpdir(), 'ops-backup-'));
  });
  afterAll(async () => {
    await platform.close();
    await rm(folder, { recursive: true, force: true });
  });

  async function ops(args: string[], env: Record<string, string> = {}) {
    const run = spawnPlatformProcess('ops', { ...platform.env, ...env }, args);
    const code = await run.waitForExit(30_000);
    return { code, output: run.output() };
  }

  const asMember = <T>(work: (client: pg.PoolClient) => Promise<T>) => platform.api.get(OrgDatabase).asCaller(member, work);
  // The audit log is readable by admins only.
  const asAdmin = <T>(work: (client: pg.PoolClient) => Promise<T>) =>
    platform.api.get(OrgDatabase).asCaller({ ...member, app_role: 'admin' }, work);

  async function snapshot(): Promise<Record<string, unknown[]>> {
    const tables: Record<string, unknown[]> = {};
    await asAdmin(async (client) => {
      for (const { table, orderBy } of ORG_TABLES) tables[table] = (await client.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;
    });
    return tables;
  }

  it('round-trips every org table through a backup, whether rows were changed or tables dropped, policies included', async () => {
    await asMember((client) =>
      client.query(
        `INSERT INTO config_entries (key, value, updated_by) VALUES
           ('deploy.region', '{"name": "eu-west"}', 'member'), ('deploy.replicas', '3', 'member'), ('feature.beta', 'true', 'member')`,
      ),
    );
    // Documents and audit rows the way they really arrive: through the API (the task below is audited too).
    await platform.request('POST', '/v1/collections/deployments/documents', {
      token: org.token,
      body: { id: 'web', data: { env: 'prod' } },
    });
    // Task history the way it really arrives: a task run by the worker and persisted.
    const task = await platform.request('POST', '/v1/tasks', {
      token: org.token,
      body: { type: 'shell', params: { command: 'echo', args: ['deployed'] } },
    });
    await waitFor('the task history', async () => ((await snapshot()).tasks!.length > 0 ? true : undefined));
    expect((await snapshot()).tasks).toEqual([expect.objectContaining({ id: task.body.id, status: 'SUCCESS' })]);
    const before = await snapshot();
    expect(Object.values(before).every((rows) => rows.length > 0)).toBe(true);
    const file = join(folder, `${org.slug}.dump`);

    const backup = await ops(['backup', org.slug, file]);
    expect(backup).toMatchObject({ code: 0, output: expect.stringContaining(`backed up ${org.slug} to ${file}`) });

    // Changed: every table emptied (by the owner: no API role may delete audit rows) and given a row the backup never saw.
    await platform.api.get(OrgDatabase).asService(org.id, async (client) => {
      await client.query(`SET LOCAL ROLE NONE`);
      for (const { table } of [...ORG_TABLES].reverse()) await client.query(`DELETE FROM ${table}`);
      await client.query(`INSERT INTO config_entries (key, value) VALUES ('after.backup', '1')`);
    });
    expect(await snapshot()).not.toEqual(before);
    expect(await ops(['restore', org.slug, file])).toMatchObject({ code: 0 });
    expect(await snapshot()).toEqual(before);

    // Destroyed: the tables themselves dropped by the org's owner.
    await platform.api.get(OrgDatabase).asService(org.id, async (client) => {
      await client.query(`SET LOCAL ROLE NONE`);
      for (const { table } of ORG_TABLES) await client.query(`DROP TABLE ${table} CASCADE`);
    });
    expect(await ops(['restore', org.slug, file])).toMatchObject({ code: 0 });
    expect(await snapshot()).toEqual(before);

    // Row-level security came back with the tables: a viewer still cannot write.
    const viewer: OrgClaims = { ...member, app_role: 'viewer' };
    await expect(
      platform.api.get(OrgDatabase).asCaller(viewer, (client) => client.query(`INSERT INTO config_entries (key, value) VALUES ('v', '1')`)),
    ).rejects.toThrow(/row-level security/);
  });

  it('names an unknown slug, a missing file and a missing pg_dump in one line each', async () => {
    const unknown = await ops(['backup', 'no-such-org', join(folder, 'x.dump')]);
    expect(unknown.code).toBe(1);
    expect(unknown.output.trim()).toBe('ops: no organization with slug "no-such-org" (`npm run ops -- status` lists them)');

    const missingFile = await ops(['restore', org.slug, join(folder, 'absent.dump')]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.output.trim()).toBe(`ops: no backup file at ${join(folder, 'absent.dump')}`);

    const noTools = await ops(['backup', org.slug, join(folder, 'y.dump')], { PATH: folder });
    expect(noTools.code).toBe(1);
    expect(noTools.output.trim()).toMatch(/^ops: pg_dump was not found on PATH: install .*sudo apt-get install postgresql-client/);

    const usage = await ops(['backup', 'Bad Slug']);
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('usage: npm run ops -- <command>');
  });

  it('lists every instance with its status and schema version, and upgrades them one after another', async () => {
    const status = await ops(['status']);
    expect(status.code).toBe(0);
    const latest = await latestOrgSchemaVersion();
    expect(status.output).toContain(`newest org schema: ${latest}`);
    expect(status.output).toMatch(new RegExp(`^${org.slug}\\tREADY\\tschema ${latest}\\tdefault/\\S+$`, 'm'));

    const upgrade = await ops(['upgrade']);
    expect(upgrade.code).toBe(0);
    expect(upgrade.output).toContain(`${org.slug}: schema ${latest} (applied nothing)`);
    expect(upgrade.output).toContain('1 org databases upgraded, 0 failed');
  });
});
