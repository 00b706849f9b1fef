import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withPgClient } from '#libs/database';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** JWT claims as PostgREST sets them from a session token of the platform. */
interface Claims {
  sub: string;
  role: 'authenticated';
  org_id: string;
  app_role: 'admin' | 'member' | 'viewer';
}

const TABLES = ['config_entries', 'documents', 'audit_log'];

/** `expression` without its `( SELECT ... )` parts, as pg_policies prints a policy expression. */
function outsideSubSelects(expression: string): string {
  let rest = expression;
  for (let start = rest.indexOf('( SELECT'); start >= 0; start = rest.indexOf('( SELECT')) {
    let depth = 0;
    let end = start;
    for (; end < rest.length; end++) {
      if (rest[end] === '(') depth++;
      else if (rest[end] === ')' && --depth === 0) break;
    }
    rest = rest.slice(0, start) + rest.slice(end + 1);
  }
  return rest;
}

describe('row-level security of config_entries, documents and audit_log inside the org database (SQL as PostgREST runs it)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let url: string;

  /** Runs `work` in a transaction as role `authenticated` with `claims`, exactly as PostgREST does, then rolls back. */
  const asPostgrest = <T>(claims: Partial<Claims> | undefined, work: (client: pg.Client) => Promise<T>): Promise<T> =>
    withPgClient(url, async (client) => {
      await client.query('BEGIN');
      try {
        // Platform tables may live in schema `platform` (PostgREST's db-schemas lists it then): find them either way.
        await client.query(`SET LOCAL search_path = platform, public`);
        await client.query(`SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
          claims ? JSON.stringify(claims) : '',
        ]);
        return await work(client);
      } finally {
        await client.query('ROLLBACK');
      }
    });
  const claims = (app_role: Claims['app_role'], org_id = org.id): Claims => ({
    sub: randomUUID(),
    role: 'authenticated',
    org_id,
    app_role,
  });
  const auditRow = (actor: Claims) =>
    `INSERT INTO audit_log (actor_kind, actor_id, actor_role, action, target_type, outcome) VALUES ('session', '${actor.sub}', '${actor.app_role}', 'config.put', 'config', 'success')`;

  beforeAll(async () => {
    platform = await startTestPlatform();
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    const { body } = await platform.request('GET', `/v1/admin/orgs/${org.slug}`);
    url = Object.assign(new URL(platform.database.url), { pathname: `/${body.instance.database}` }).toString();
    await platform.request('PUT', '/v1/config/seeded', { token: org.token, body: { value: 1 } });
    await platform.request('POST', '/v1/collections/seeded/documents', { token: org.token, body: { id: 'd', data: { a: 1 } } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('checks the org id in every permissive policy, and gives audit_log permissive INSERT and SELECT policies only', async () => {
    const all = await platform.queryOrgDatabase<{
      tablename: string;
      cmd: string;
      permissive: string;
      qual: string | null;
      with_check: string | null;
    }>(org.slug, `SELECT tablename, cmd, permissive, qual, with_check FROM pg_policies WHERE tablename = ANY($1) ORDER BY tablename, cmd`, [
      TABLES,
    ]);
    // Restrictive policies grant nothing: the only ones refuse writes that come through PostgREST (platform tables are read-only there).
    const restrictive = all.filter((policy) => policy.permissive === 'RESTRICTIVE');
    for (const policy of restrictive) expect(policy.qual ?? policy.with_check).toContain("current_setting('request.method'");
    const policies = all.filter((policy) => policy.permissive === 'PERMISSIVE');
    for (const policy of policies) {
      for (const expression of [policy.qual, policy.with_check].filter((text) => text !== null)) {
        expect([policy.tablename, policy.cmd, expression]).toEqual([
          policy.tablename,
          policy.cmd,
          // pg_policies prints the helpers without `platform.` when that schema is on the search path.
          expect.stringMatching(/(^|[^\w.]|platform\.)(can_read|can_write|is_this_org)\(\)/),
        ]);
      }
    }
    expect(policies.filter((policy) => policy.tablename === 'audit_log').map((policy) => policy.cmd)).toEqual(['INSERT', 'SELECT']);
    const rls = await platform.queryOrgDatabase(
      org.slug,
      `SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY($1) ORDER BY relname`,
      [TABLES],
    );
    expect(rls).toEqual(TABLES.sort().map((relname) => ({ relname, relrowsecurity: true })));
  });

  it("reads the caller's role once per query in every policy of the platform's tables, never once per row", async () => {
    const all = await platform.queryOrgDatabase<{ tablename: string; policyname: string; qual: string | null; with_check: string | null }>(
      org.slug,
      `SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'platform' ORDER BY tablename, policyname`,
    );
    const helperCall = /\b(can_read|can_write|app_role|is_this_org)\(\)/;
    const withHelpers = all.filter((policy) => helperCall.test(`${policy.qual ?? ''} ${policy.with_check ?? ''}`));
    expect(withHelpers.length).toBeGreaterThanOrEqual(30);
    // A helper inside a sub-select is evaluated once per query; anywhere else, once for every row filtered.
    const perRow = withHelpers.filter((policy) =>
      [policy.qual, policy.with_check].some((expression) => expression !== null && helperCall.test(outsideSubSelects(expression))),
    );
    expect(perRow.map((policy) => `${policy.tablename}.${policy.policyname}`)).toEqual([]);
  });

  it('lets members write config and documents, viewers only read them, and another org or no claims see nothing', async () => {
    await asPostgrest(claims('member'), async (client) => {
      await client.query(`INSERT INTO config_entries (key, value) VALUES ('via-postgrest', '"m"')`);
      await client.query(`INSERT INTO documents (collection, id, data) VALUES ('c', 'x', '{"a": 1}')`);
      expect((await client.query(`UPDATE documents SET data = '{"a": 2}' WHERE collection = 'seeded'`)).rowCount).toBe(1);
      expect((await client.query(`SELECT key FROM config_entries ORDER BY key`)).rows).toEqual([
        { key: 'seeded' },
        { key: 'via-postgrest' },
      ]);
    });
    await asPostgrest(claims('viewer'), async (client) => {
      expect((await client.query('SELECT count(*)::int AS n FROM documents')).rows).toEqual([{ n: 1 }]);
      expect((await client.query(`UPDATE config_entries SET value = '2'`)).rowCount).toBe(0);
      expect((await client.query(`DELETE FROM documents`)).rowCount).toBe(0);
      await expect(client.query(`INSERT INTO documents (collection, id, data) VALUES ('c', 'y', '{}')`)).rejects.toThrow(
        /row-level security/,
      );
    });
    const matching = `SELECT id FROM platform.match_documents('seeded', '{"a": 1}', NULL, 10)`;
    await asPostgrest(claims('viewer'), async (client) => expect((await client.query(matching)).rows).toEqual([{ id: 'd' }]));
    for (const stranger of [claims('admin', other.id), undefined, { role: 'authenticated' as const, app_role: 'admin' as const }]) {
      await asPostgrest(stranger, async (client) => {
        for (const table of TABLES) expect([table, (await client.query(`SELECT * FROM ${table}`)).rows]).toEqual([table, []]);
        expect((await client.query(matching)).rows).toEqual([]);
        expect((await client.query(`UPDATE config_entries SET value = '2'`)).rowCount).toBe(0);
        expect((await client.query(`DELETE FROM documents`)).rowCount).toBe(0);
        await expect(client.query(`INSERT INTO config_entries (key, value) VALUES ('foreign', '1')`)).rejects.toThrow(/row-level security/);
      });
    }
  });

  it('lets admins alone read audit rows, lets a caller append rows only as itself, and lets no role change or delete them', async () => {
    const admin = claims('admin');
    await asPostgrest(admin, async (client) => {
      expect(Number((await client.query('SELECT count(*) AS n FROM audit_log')).rows[0].n)).toBeGreaterThanOrEqual(2);
      await client.query(auditRow(admin));
    });
    // Each refusal aborts its transaction, so each gets one of its own.
    const refusals: [string, RegExp][] = [
      [auditRow({ ...admin, sub: randomUUID() }), /row-level security/],
      [auditRow({ ...admin, app_role: 'viewer' }), /row-level security/],
      [`UPDATE audit_log SET outcome = 'failure'`, /permission denied/],
      [`DELETE FROM audit_log`, /permission denied/],
      [`TRUNCATE audit_log`, /permission denied/],
    ];
    for (const [sql, refusal] of refusals) {
      await asPostgrest(admin, (client) => expect(client.query(sql)).rejects.toThrow(refusal));
    }
    for (const role of ['member', 'viewer'] as const) {
      const caller = claims(role);
      await asPostgrest(caller, async (client) => {
        expect((await client.query('SELECT * FROM audit_log')).rows).toEqual([]);
        await client.query(auditRow(caller));
      });
    }
    await asPostgrest(claims('admin', other.id), async (client) => {
      await expect(client.query(auditRow(claims('admin', other.id)))).rejects.toThrow(/row-level security/);
    });
    for (const sql of [`UPDATE audit_log SET outcome = 'failure'`, `DELETE FROM audit_log`]) {
      await withPgClient(url, async (client) => {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path = platform, public`);
        await client.query(`SET LOCAL role service_role`);
        await expect(client.query(sql)).rejects.toThrow(/permission denied/);
        await client.query('ROLLBACK');
      });
    }
  });
});
