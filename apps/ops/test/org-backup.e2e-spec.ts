import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import { latestOrgSchemaVersion, spawnPlatformProcess, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

/** Tables every org database has: listed from information_schema, so a table a new migration adds is covered at once. */
const ORG_TABLES_SQL = `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
   WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`;
/** The tables the org's own role owns: what its backup holds and what it can empty or drop. */
const OWNED_TABLES_SQL = `SELECT schemaname AS schema, tablename AS name FROM pg_tables WHERE tableowner = current_user ORDER BY 1, 2`;
/** Tables this test puts rows in before the backup (all others must round-trip too, empty or not). */
const FILLED = [
  'platform.config_entries',
  'platform.tasks',
  'platform.task_attempts',
  'platform.task_logs',
  'platform.resource_pools',
  'platform.resource_environments',
  'platform.resource_allocations',
  'platform.resource_allocation_history',
  'platform.schedules',
  'platform.webhooks',
  'platform.webhook_deliveries',
  'platform.triggers',
  'platform.trigger_runs',
  'public.backup_notes',
  'platform.documents',
  'platform.audit_log',
];
const qualified = ({ schema, name }: { schema: string; name: string }) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;

describe('npm run ops: backup and restore of one org database, status and upgrade (real Postgres, real process)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let member: OrgClaims;
  let folder: string;
  /** The platform's warnings and errors, shown when a wait below runs out. */
  const warnings: string[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({
      logs: {
        write: (line: string) => {
          if (JSON.parse(line).level >= 40) warnings.push(line.trim());
        },
      },
      // The webhook below points at loopback, which outbound requests may reach only when allowed.
      env: { TASK_SHELL_ALLOW: 'echo', WEBHOOK_MAX_ATTEMPTS: '1', REALTIME_RELAY_POLL_MS: '200', OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' },
    });
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

  /** Every row of every org table, in a stable order, read as the cluster superuser so row-level security hides nothing. */
  async function snapshot(): Promise<Record<string, unknown[]>> {
    const tables: Record<string, unknown[]> = {};
    for (const table of await platform.queryOrgDatabase<{ schema: string; name: string }>(org.slug, ORG_TABLES_SQL)) {
      tables[`${table.schema}.${table.name}`] = await platform.queryOrgDatabase(
        org.slug,
        `SELECT * FROM ${qualified(table)} AS t ORDER BY t::text`,
      );
    }
    return tables;
  }
  /** Runs `work` as the org's own login role (the owner of its tables). */
  const asOwner = <T>(work: (client: pg.PoolClient) => Promise<T>) =>
    platform.api.get(OrgDatabase).asService(org.id, async (client) => {
      await client.query(`SET LOCAL ROLE NONE`);
      return work(client);
    });

  it('round-trips every org table through a backup, whether rows were changed or tables dropped, policies included', async () => {
    await asMember((client) =>
      client.query(
        `INSERT INTO config_entries (key, value, updated_by) VALUES
           ('deploy.region', '{"name": "eu-west"}', 'member'), ('deploy.replicas', '3', 'member'), ('feature.beta', 'true', 'member')`,
      ),
    );
    // A table of the org's own making travels with the backup too.
    await asOwner((client) => client.query(`CREATE TABLE public.backup_notes (id int PRIMARY KEY, note text)`));
    // Rows the way they really arrive: through the API, the worker and its write-behind.
    const call = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: org.token, body });
    const pool = (await call('POST', '/v1/pools', { name: 'backup-pool', kind: 'sandbox' })).body;
    await call('POST', `/v1/pools/${pool.id}/environments`, { name: 'env-1' });
    await call('POST', '/v1/collections/deployments/documents', { id: 'web', data: { env: 'prod' } });
    await call('POST', `/v1/pools/${pool.id}/allocations`, { holder: 'backup', ttlSeconds: 600 });
    const schedule = (await call('POST', '/v1/schedules', { name: 'nightly', cron: '0 3 * * *', task: { type: 'noop' } })).body;
    await call('POST', `/v1/schedules/${schedule.id}/pause`);
    await call('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['task.succeeded'], secret: 'sixteen-characters!' });
    const trigger = (
      await call('POST', '/v1/triggers', { name: 'notes', table: 'backup_notes', events: ['INSERT'], task: { type: 'noop' } })
    ).body;
    await asOwner((client) => client.query(`INSERT INTO public.backup_notes (id, note) VALUES (1, 'kept')`));
    const task = await call('POST', '/v1/tasks', { type: 'shell', params: { command: 'echo', args: ['deployed'] } });
    expect(task.status).toBe(201);
    let empty: string[] = [];
    await waitFor(
      'every table the test fills to have rows',
      async () => {
        const tables = await snapshot();
        empty = FILLED.filter((table) => !tables[table]?.length);
        return empty.length === 0 ? true : undefined;
      },
      // A bound for a stuck relay, not a timing claim: in a full run the org's relay decodes the shared
      // test cluster's WAL, where other files' CREATE DATABASE write whole databases, and was seen 30 MB behind.
      150_000,
    ).catch(async (error: Error) => {
      const realtime = (await platform.request('GET', `/v1/admin/orgs/${org.slug}`)).body.instance?.realtime;
      const slots = await platform.queryOrgDatabase(org.slug, 'SELECT slot_name, active FROM pg_replication_slots');
      throw new Error(
        `${error.message}; still empty: ${empty.join(', ')}; relay ${JSON.stringify(realtime)}, slots ${JSON.stringify(slots)}, ` +
          `warnings: ${warnings.slice(-10).join('\n')}`,
      );
    });
    // A restore writes its rows through the WAL like any insert: an enabled trigger would fire again and change the tables.
    await call('PATCH', `/v1/triggers/${trigger.id}`, { enabled: false });
    await platform.waitForQueuesDrained();
    const before = await snapshot();
    expect(before['platform.tasks']).toEqual(expect.arrayContaining([expect.objectContaining({ id: task.body.id, status: 'SUCCESS' })]));
    // The backup holds what the org's role owns: that must be every org table.
    const owned = (await asOwner((client) => client.query<{ schema: string; name: string }>(OWNED_TABLES_SQL))).rows;
    const ownedNames = owned.map((table) => `${table.schema}.${table.name}`);
    expect(Object.keys(before).filter((name) => !ownedNames.includes(name))).toEqual([]);
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(FILLED.length);
    const file = join(folder, `${org.slug}.dump`);

    const backup = await ops(['backup', org.slug, file]);
    expect(backup).toMatchObject({ code: 0, output: expect.stringContaining(`backed up ${org.slug} to ${file}`) });

    // Changed: every table the org owns emptied, and given a row the backup never saw.
    await asOwner(async (client) => {
      await client.query(`TRUNCATE ${owned.map(qualified).join(', ')} CASCADE`);
      await client.query(`INSERT INTO config_entries (key, value) VALUES ('after.backup', '1')`);
    });
    expect(await snapshot()).not.toEqual(before);
    expect(await ops(['restore', org.slug, file])).toMatchObject({ code: 0 });
    expect(await snapshot()).toEqual(before);

    // Destroyed: the tables themselves dropped by the org's owner.
    await asOwner((client) => client.query(`DROP TABLE ${owned.map(qualified).join(', ')} CASCADE`));
    expect(Object.keys(await snapshot()).length).toBeLessThan(Object.keys(before).length);
    expect(await ops(['restore', org.slug, file])).toMatchObject({ code: 0 });
    expect(await snapshot()).toEqual(before);

    // Row-level security came back with the tables: a viewer still cannot write.
    const viewer: OrgClaims = { ...member, app_role: 'viewer' };
    await expect(
      platform.api.get(OrgDatabase).asCaller(viewer, (client) => client.query(`INSERT INTO config_entries (key, value) VALUES ('v', '1')`)),
    ).rejects.toThrow(/row-level security/);
    // Three processes and a fill through API, worker and relay: more than the default allowance on a busy runner.
  }, 300_000);

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
