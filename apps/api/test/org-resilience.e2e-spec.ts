import { Writable } from 'node:stream';
import pg from 'pg';
import { withPgClient } from '#libs/database';
import { OrgDatabase, OrgPoolCache } from '#libs/registry';
import { latestOrgSchemaVersion, spawnPlatformProcess, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('provisioning survives a worker killed mid-job (real worker processes)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ withWorker: false, env: { QUEUE_LOCK_DURATION_MS: '1000' } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('ends READY after SIGKILL during provisioning and a restart', async () => {
    const created = await platform.request('POST', '/v1/admin/orgs', { body: { slug: 'killed-mid-way', name: 'Killed' } });
    expect(created.body.instance.status).toBe('PENDING');
    const orgId: string = created.body.org.id;

    // Hold the org's provisioning lock so the first worker is caught inside the job.
    const holder = new pg.Client({ connectionString: platform.database.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [`org-provisioning:${orgId}`]);
    const first = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
    await platform.waitForStatus('killed-mid-way', 'PROVISIONING');
    first.child.kill('SIGKILL');
    await first.waitForExit();
    await holder.end();

    const second = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
    try {
      const instance = await platform.waitForStatus('killed-mid-way', 'READY', 30_000);
      expect(instance.schemaVersion).toBe(await latestOrgSchemaVersion());
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.waitForExit()).toBe(0);
    }
  });
});

describe('org connection pools stay under their bound with 100 orgs', () => {
  const TOTAL_MAX = 10;
  let platform: TestPlatform;
  const orgIds: string[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: { ORG_POOL_MAX: '2', ORG_POOLS_TOTAL_MAX: String(TOTAL_MAX), PROVISIONING_CONCURRENCY: '4' },
    });
  });
  // Closing drops the 100 org databases, which takes minutes on a loaded machine.
  afterAll(async () => {
    await platform.close();
  }, 300_000);

  it('provisions 100 orgs and queries each while open org connections never pass ORG_POOLS_TOTAL_MAX', async () => {
    const slugs = Array.from({ length: 100 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    const created = await Promise.all(slugs.map((slug) => platform.request('POST', '/v1/admin/orgs', { body: { slug, name: slug } })));
    expect(created.every((answer) => answer.status === 202)).toBe(true);
    await waitFor(
      'all 100 orgs READY',
      async () => {
        const { body } = await platform.request('GET', '/v1/admin/orgs');
        const ready = body.filter((entry: any) => entry.instance.status === 'READY').length;
        return ready === 100 ? ready : undefined;
      },
      120_000,
    );

    const orgDatabase = platform.api.get(OrgDatabase);
    const answers = await Promise.all(
      created.map(({ body }) =>
        orgDatabase.asCaller({ sub: body.org.id, role: 'authenticated', org_id: body.org.id, app_role: 'viewer' }, async (client) => {
          const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
          return rows[0]!.db;
        }),
      ),
    );

    expect(new Set(answers).size).toBe(100);
    orgIds.push(...created.map(({ body }) => body.org.id as string));
    expect(platform.api.get(OrgPoolCache).size).toBeLessThanOrEqual(TOTAL_MAX);
    // Each process's pool cache counts every connection as it opens: its peak is exact, not sampled.
    for (const cache of [platform.api.get(OrgPoolCache), platform.worker!.get(OrgPoolCache)]) {
      expect(cache.peakConnections).toBeLessThanOrEqual(TOTAL_MAX);
    }
    expect(platform.api.get(OrgPoolCache).peakConnections).toBeGreaterThan(0);
  }, 180_000);

  it('holds a connection to as many orgs at once as ORG_POOLS_TOTAL_MAX counts, the next org waiting for one to be released', async () => {
    // ORG_POOL_MAX is 2: counted in pools of 2, the budget of 10 would hold 5 orgs at once.
    const cache = platform.api.get(OrgPoolCache);
    const held = await Promise.all(orgIds.slice(0, TOTAL_MAX).map((orgId) => cache.connect(orgId)));
    expect(cache.size).toBe(TOTAL_MAX);
    const next = cache.connect(orgIds[TOTAL_MAX]!);
    held[0]!.release();
    const late = await next;
    const { rows } = await late.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]!.db).not.toBe('');
    late.release();
    for (const client of held.slice(1)) client.release();
    // Had the next org not waited for a released connection, eleven would have been open at once.
    expect(cache.peakConnections).toBeLessThanOrEqual(TOTAL_MAX);
    expect(cache.size).toBeLessThanOrEqual(TOTAL_MAX);
  }, 60_000);
});

describe('failed logins', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const lines: string[] = [];

  beforeAll(async () => {
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    platform = await startTestPlatform({ logs, env: { AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'loopback' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('are limited per source with 429 and logged without the token', async () => {
    const secret = 'plat_org_this-is-a-guess-that-must-never-be-logged-000';
    const statuses = [];
    for (let attempt = 0; attempt < 4; attempt++) statuses.push((await platform.request('GET', '/v1/tokens', { token: secret })).status);

    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await platform.request('GET', '/v1/admin/orgs')).status).toBe(429);
    const failures = lines.filter((line) => line.includes('"failed login"'));
    expect(failures).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('refuses a blocked source even with a valid org token it used a moment before', async () => {
    const from = (client: string, token: string) =>
      fetch(`${platform.baseUrl}/v1/tokens`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
    expect((await from('192.0.2.44', org.token)).status).toBe(200);
    for (let attempt = 0; attempt < 3; attempt++) expect((await from('192.0.2.44', 'plat_org_wrong')).status).toBe(401);
    expect((await from('192.0.2.44', org.token)).status).toBe(429);
    expect((await from('198.51.100.10', org.token)).status).toBe(200);
  });

  it('counts each client behind a trusted proxy on its own', async () => {
    const from = (client: string) =>
      fetch(`${platform.baseUrl}/v1/tokens`, { headers: { authorization: 'Bearer plat_org_wrong', 'x-forwarded-for': client } });
    for (let attempt = 0; attempt < 3; attempt++) expect((await from('203.0.113.7')).status).toBe(401);
    expect((await from('203.0.113.7')).status).toBe(429);
    expect((await from('198.51.100.9')).status).toBe(401);
  });
});

describe('npm run migrate', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('brings every READY org database to the newest schema, reporting a broken one without stopping the others', async () => {
    const [behind, broken, current] = await Promise.all([platform.createOrg(), platform.createOrg(), platform.createOrg()]);
    const databaseOf = async (slug: string) => (await platform.request('GET', `/v1/admin/orgs/${slug}`)).body.instance.database as string;
    const urlOf = (database: string) => Object.assign(new URL(platform.database.url), { pathname: `/${database}` }).toString();

    // One org is a version behind (as after a platform upgrade), one cannot be reached at all.
    await withPgClient(urlOf(await databaseOf(behind.slug)), async (client) => {
      await client.query(`DROP TABLE platform.config_entries; DELETE FROM platform.schema_migrations WHERE version = '0002'`);
    });
    await withPgClient(platform.database.url, async (client) => {
      const brokenRole = await databaseOf(broken.slug);
      await client.query(`ALTER ROLE ${pg.escapeIdentifier(brokenRole)} NOLOGIN`);
    });
    await withPgClient(platform.database.url, (client) =>
      client.query(`UPDATE org_instances SET schema_version = '0001' WHERE org_id = $1`, [behind.id]),
    );

    const migrate = spawnPlatformProcess('migrate', { ...platform.env, LOG_LEVEL: 'warn' });
    const code = await migrate.waitForExit(60_000);

    const output = migrate.output();
    expect(code).toBe(1);
    expect(output).toContain(`org ${behind.id}: schema ${await latestOrgSchemaVersion()} (applied 0002)`);
    expect(output).toContain(`org ${current.id}: schema ${await latestOrgSchemaVersion()} (applied nothing)`);
    expect(output).toMatch(new RegExp(`org ${broken.id}: FAILED: .*not permitted to log in`));
    expect(output).toContain('3 org databases checked, 1 failed');
    expect((await platform.request('GET', `/v1/admin/orgs/${behind.slug}`)).body.instance.schemaVersion).toBe(
      await latestOrgSchemaVersion(),
    );
    await withPgClient(urlOf(await databaseOf(behind.slug)), async (client) => {
      const { rows } = await client.query(`SELECT relrowsecurity FROM pg_class WHERE relname = 'config_entries'`);
      expect(rows).toEqual([{ relrowsecurity: true }]);
    });
  });
});
