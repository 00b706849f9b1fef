import { SignJWT, decodeJwt } from 'jose';
import pg from 'pg';
import { CredentialCipher, OrgDatabase, type OrgClaims } from '#libs/registry';
import { createLogger } from '#libs/logging';
import { startInProcessPlatform } from '../../platform/src/in-process-platform.js';
import { TEST_ENV, latestOrgSchemaVersion, testEnv, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';
import { withPgClient } from '#libs/database';

describe('organizations: registry, provisioning, tokens, sessions, RLS (real Postgres, Redis, HTTP)', () => {
  let platform: TestPlatform;
  let orgA: CreatedOrg;
  let orgB: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform();
    [orgA, orgB] = await Promise.all([platform.createOrg(), platform.createOrg()]);
  });
  afterAll(async () => {
    await platform.close();
  });

  async function admin<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return withPgClient(platform.database.url, async (client) => (await client.query(query, params)).rows as T[]);
  }

  function waitForDeleted(orgId: string) {
    return waitFor(`org ${orgId} to be DELETED`, async () => {
      const rows = await admin<{ status: string }>(`SELECT status FROM org_instances WHERE org_id = $1 AND status = 'DELETED'`, [orgId]);
      return rows.length ? rows : undefined;
    });
  }

  async function instanceOf(slug: string) {
    return (await platform.request('GET', `/v1/admin/orgs/${slug}`)).body.instance;
  }

  describe('provisioning', () => {
    it('makes a real database and login role, migrated, with RLS on every table and the realtime publication', async () => {
      const instance = await instanceOf(orgA.slug);
      expect(instance).toMatchObject({
        status: 'READY',
        driver: 'cluster',
        cluster: 'default',
        schemaVersion: await latestOrgSchemaVersion(),
      });
      expect(await admin('SELECT 1 FROM pg_database WHERE datname = $1', [instance.database])).toHaveLength(1);
      expect(await admin('SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin', [instance.database])).toHaveLength(1);

      const orgUrl = new URL(platform.database.url);
      orgUrl.pathname = `/${instance.database}`;
      const client = new pg.Client({ connectionString: orgUrl.toString() });
      await client.connect();
      const unprotected = await client.query(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity`,
      );
      const publication = await client.query(`SELECT 1 FROM pg_publication WHERE pubname = 'platform_realtime'`);
      await client.end();
      expect(unprotected.rows).toEqual([]);
      expect(publication.rows).toHaveLength(1);
    });

    it('answers 409 for a slug that exists, and 400 naming each bad field', async () => {
      expect((await platform.request('POST', '/v1/admin/orgs', { body: { slug: orgA.slug, name: 'again' } })).status).toBe(409);
      const bad = await platform.request('POST', '/v1/admin/orgs', { body: { slug: '-Bad Slug', driver: 'external', extra: true } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toEqual(
        expect.arrayContaining([
          'property extra should not exist',
          expect.stringContaining('slug must be'),
          expect.stringContaining('name must be'),
          expect.stringContaining('url must be a postgres:// URL'),
        ]),
      );
    });

    it('keeps admin routes to the platform admin token', async () => {
      expect((await platform.request('GET', '/v1/admin/orgs', { token: 'wrong' })).status).toBe(401);
      expect((await platform.request('GET', '/v1/admin/orgs', { token: orgA.token })).status).toBe(403);
      const list = await platform.request('GET', '/v1/admin/orgs');
      expect(list.status).toBe(200);
      expect(list.body.map((entry: any) => entry.org.slug)).toEqual(expect.arrayContaining([orgA.slug, orgB.slug]));
      expect(JSON.stringify(list.body)).not.toMatch(/password|credentials/i);
    });

    it('adopts an external database, fails with the reason when it cannot, and retrying works', async () => {
      const external = `ext_${Date.now()}`;
      const externalUrl = new URL(platform.database.url);
      externalUrl.pathname = `/${external}`;
      const slug = `ext-${Date.now()}`;
      const created = await platform.request('POST', '/v1/admin/orgs', {
        body: { slug, name: 'External', driver: 'external', url: externalUrl.toString() },
      });
      expect(created.status).toBe(202);

      const failed = await platform.waitForStatus(slug, 'FAILED');
      expect(failed.error).toMatch(new RegExp(`database "${external}" does not exist`));

      await admin(`CREATE DATABASE ${external}`);
      try {
        const retried = await platform.request('POST', `/v1/admin/orgs/${slug}/retry`);
        expect(retried.status).toBe(202);
        expect(retried.body.instance.status).toBe('PENDING');
        expect((await platform.request('POST', `/v1/admin/orgs/${slug}/retry`)).status).toBe(409);
        const ready = await platform.waitForStatus(slug, 'READY');
        expect(ready.schemaVersion).toBe(await latestOrgSchemaVersion());

        expect((await platform.request('DELETE', `/v1/admin/orgs/${slug}`)).status).toBe(202);
        await waitForDeleted(created.body.org.id);
        // An adopted database belongs to its owner: deprovisioning keeps it.
        expect(await admin('SELECT 1 FROM pg_database WHERE datname = $1', [external])).toHaveLength(1);
      } finally {
        await admin(`DROP DATABASE IF EXISTS ${external} WITH (FORCE)`);
      }
    });

    it('deprovisions: drops the database and role, keeps the registry row DELETED, audits, frees the slug', async () => {
      const org = await platform.createOrg();
      const { database } = await instanceOf(org.slug);

      expect((await platform.request('DELETE', `/v1/admin/orgs/${org.slug}`)).status).toBe(202);

      const [row] = await waitForDeleted(org.id);
      expect(row).toMatchObject({ status: 'DELETED' });
      expect(await admin('SELECT 1 FROM pg_database WHERE datname = $1', [database])).toEqual([]);
      expect(await admin('SELECT 1 FROM pg_roles WHERE rolname = $1', [database])).toEqual([]);
      const audit = await admin<{ action: string }>('SELECT action FROM admin_audit_log WHERE org_id = $1 ORDER BY id', [org.id]);
      expect(audit.map((entry) => entry.action)).toEqual(['org.created', 'org.deprovision-requested', 'org.deprovisioned']);
      expect((await platform.request('GET', `/v1/admin/orgs/${org.slug}`)).status).toBe(404);
      expect((await platform.request('GET', '/v1/tokens', { token: org.token })).status).toBe(401);
      const again = await platform.createOrg(org.slug);
      expect(again.id).not.toBe(org.id);
    });
  });

  describe('tenant isolation', () => {
    it("answers 404 when org A names org B's token, and leaves B's token working", async () => {
      const bTokens = await platform.request('GET', '/v1/tokens', { token: orgB.token });
      const bTokenId = bTokens.body[0].id;

      expect((await platform.request('DELETE', `/v1/tokens/${bTokenId}`, { token: orgA.token })).status).toBe(404);
      expect((await platform.request('DELETE', '/v1/tokens/not-a-uuid', { token: orgA.token })).status).toBe(404);
      expect((await platform.request('GET', '/v1/tokens', { token: orgB.token })).status).toBe(200);
      const aTokens = await platform.request('GET', '/v1/tokens', { token: orgA.token });
      expect(aTokens.body.map((token: any) => token.id)).not.toContain(bTokenId);
    });

    it("does not let org A's login role connect to org B's database at all", async () => {
      const [a] = await admin<{ credentials_encrypted: string; login_role: string }>('SELECT * FROM org_instances WHERE org_id = $1', [
        orgA.id,
      ]);
      const { password } = platform.api.get(CredentialCipher).decrypt<{ password: string }>(a!.credentials_encrypted);
      const bDatabase = (await instanceOf(orgB.slug)).database;
      const url = new URL(platform.database.url);
      url.username = a!.login_role;
      url.password = password;
      url.pathname = `/${bDatabase}`;
      const intruder = new pg.Client({ connectionString: url.toString() });
      await expect(intruder.connect()).rejects.toThrow(/permission denied for database/);
      url.pathname = `/${(await instanceOf(orgA.slug)).database}`;
      const owner = new pg.Client({ connectionString: url.toString() });
      await owner.connect();
      await owner.end();
    });
  });

  describe('tokens and sessions', () => {
    async function tokenWithRole(org: CreatedOrg, role: string) {
      const created = await platform.request('POST', '/v1/tokens', { token: org.token, body: { name: `${role} token`, role } });
      expect(created.status).toBe(201);
      return created.body as { id: string; token: string };
    }

    it('creates tokens shown once and lists them without secrets; only admins manage tokens', async () => {
      const member = await tokenWithRole(orgA, 'member');
      expect(member.token).toMatch(/^plat_org_[\w-]{43}$/);
      const list = await platform.request('GET', '/v1/tokens', { token: orgA.token });
      expect(JSON.stringify(list.body)).not.toContain(member.token);
      expect(list.body.find((token: any) => token.id === member.id)).toMatchObject({ name: 'member token', role: 'member' });
      expect((await platform.request('GET', '/v1/tokens', { token: member.token })).status).toBe(403);
    });

    it('issues a session JWT with Supabase-compatible claims that works on every route', async () => {
      const session = await platform.request('POST', '/v1/auth/session', { token: orgA.token });
      expect(session.status).toBe(200);
      expect(session.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
      const claims = decodeJwt(session.body.access_token);
      expect(claims).toMatchObject({ role: 'authenticated', org_id: orgA.id, app_role: 'admin', aud: 'authenticated' });
      expect(typeof claims.sub).toBe('string');
      expect(claims.exp! - claims.iat!).toBe(900);
      expect((await platform.request('GET', '/v1/tokens', { token: session.body.access_token })).status).toBe(200);
    });

    it('refuses tampered, expired and revoked credentials with 401', async () => {
      const session = (await platform.request('POST', '/v1/auth/session', { token: orgA.token })).body.access_token as string;
      const [header, payload, signature] = session.split('.');
      const forged = Buffer.from(JSON.stringify({ ...decodeJwt(session), app_role: 'admin', org_id: orgB.id })).toString('base64url');
      expect((await platform.request('GET', '/v1/tokens', { token: `${header}.${forged}.${signature}` })).status).toBe(401);
      expect((await platform.request('GET', '/v1/tokens', { token: `${header}.${payload}.${signature}x` })).status).toBe(401);

      const expired = await new SignJWT({ role: 'authenticated', org_id: orgA.id, app_role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(decodeJwt(session).sub!)
        .setAudience('authenticated')
        .setIssuer('platform')
        .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
        .sign(new TextEncoder().encode(platform.config.JWT_SECRET));
      expect((await platform.request('GET', '/v1/tokens', { token: expired })).status).toBe(401);

      const doomed = await tokenWithRole(orgA, 'admin');
      const doomedSession = (await platform.request('POST', '/v1/auth/session', { token: doomed.token })).body.access_token;
      expect((await platform.request('DELETE', `/v1/tokens/${doomed.id}`, { token: orgA.token })).status).toBe(204);
      expect((await platform.request('GET', '/v1/tokens', { token: doomed.token })).status).toBe(401);
      expect((await platform.request('GET', '/v1/tokens', { token: doomedSession })).status).toBe(401);

      // Another API process on the same platform remembered the token: revocation reaches it too.
      const replica = await startInProcessPlatform(platform.config, createLogger('replica', 'silent'), { withWorker: false });
      try {
        const shared = await tokenWithRole(orgA, 'member');
        const onReplica = () =>
          fetch(`${replica.baseUrl}/v1/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${shared.token}` } });
        expect((await onReplica()).status).toBe(200);
        expect((await platform.request('DELETE', `/v1/tokens/${shared.id}`, { token: orgA.token })).status).toBe(204);
        await waitFor('the replica to refuse the revoked token', async () => ((await onReplica()).status === 401 ? true : undefined), 2000);
      } finally {
        await replica.close();
      }

      const expiresAt = Date.now() + 1500;
      const shortLived = await platform.request('POST', '/v1/tokens', {
        token: orgA.token,
        body: { name: 'short-lived', role: 'viewer', expiresAt: new Date(expiresAt).toISOString() },
      });
      const useShortLived = () => platform.request('POST', '/v1/auth/session', { token: shortLived.body.token });
      expect((await useShortLived()).status).toBe(200);
      await waitFor('the token to expire', async () => ((await useShortLived()).status === 401 ? true : undefined), 5000);
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    });
  });

  describe('row-level security inside the org database', () => {
    async function claimsOf(org: CreatedOrg, role: string): Promise<OrgClaims> {
      const { token } = (await platform.request('POST', '/v1/tokens', { token: org.token, body: { name: role, role } })).body;
      const session = (await platform.request('POST', '/v1/auth/session', { token })).body.access_token;
      const { sub, role: dbRole, org_id, app_role } = decodeJwt(session) as unknown as OrgClaims;
      return { sub, role: dbRole, org_id, app_role };
    }

    it("refuses a viewer session's direct SQL write in Postgres itself, and lets a member write and a viewer read", async () => {
      const orgDatabase = platform.api.get(OrgDatabase);
      const viewer = await claimsOf(orgA, 'viewer');
      const member = await claimsOf(orgA, 'member');
      const insert = 'INSERT INTO config_entries (key, value) VALUES ($1, \'{"on": true}\')';

      await expect(orgDatabase.asCaller(viewer, (client) => client.query(insert, ['viewer-key']))).rejects.toThrow(/row-level security/);
      await orgDatabase.asCaller(member, (client) => client.query(insert, ['member-key']));
      const seen = await orgDatabase.asCaller(viewer, (client) => client.query('SELECT key FROM config_entries'));
      expect(seen.rows).toEqual([{ key: 'member-key' }]);
      const updated = await orgDatabase.asCaller(viewer, (client) => client.query(`UPDATE config_entries SET value = '{}'`));
      expect(updated.rowCount).toBe(0);
    });

    it("gives another org's session nothing in this org's database, as PostgREST would run it", async () => {
      const orgDatabase = platform.api.get(OrgDatabase);
      await orgDatabase.asCaller(await claimsOf(orgA, 'member'), (client) =>
        client.query(`INSERT INTO config_entries (key, value) VALUES ('a-secret', '1') ON CONFLICT DO NOTHING`),
      );
      const intruder = await claimsOf(orgB, 'admin');
      // The same JWT_SECRET signs every org's sessions: present B's admin claims to A's database.
      const asIntruder = <T>(work: (client: pg.PoolClient) => Promise<T>) =>
        orgDatabase.asCaller({ ...intruder, org_id: orgA.id }, async (client) => {
          await client.query(`SELECT set_config('request.jwt.claims', $1, true)`, [JSON.stringify(intruder)]);
          return work(client);
        });
      expect((await asIntruder((client) => client.query('SELECT key FROM config_entries'))).rows).toEqual([]);
      await expect(
        asIntruder((client) => client.query(`INSERT INTO config_entries (key, value) VALUES ('b-was-here', '1')`)),
      ).rejects.toThrow(/row-level security/);
    });
  });
});

describe('placement across several clusters', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    // Two cluster names on one test server: placement only looks at the registry's counts.
    const url = testEnv(TEST_ENV.postgresUrl);
    platform = await startTestPlatform({ env: { ORG_CLUSTER_URLS: `east=${url},west=${url}` } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('puts each new org on the cluster with the fewest orgs', async () => {
    const clusters: string[] = [];
    for (let i = 0; i < 4; i++) {
      const org = await platform.createOrg();
      clusters.push((await platform.request('GET', `/v1/admin/orgs/${org.slug}`)).body.instance.cluster);
    }
    expect(clusters.filter((name) => name === 'east')).toHaveLength(2);
    expect(clusters.filter((name) => name === 'west')).toHaveLength(2);
  });
});
