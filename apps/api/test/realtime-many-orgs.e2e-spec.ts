import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withPgClient } from '#libs/database';
import { createLogger } from '#libs/logging';
import { OrgEventStream } from '#libs/realtime';
import { startEmbeddedPostgres, type RunningPostgres } from '#libs/runtime';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const ORGS = 300;
/** Admin requests creating orgs in flight at once. */
const CREATING_AT_ONCE = 8;

/** How long a relay state may take to settle on a loaded machine (a polling bound, not a timing claim). */
const SETTLE_MS = 60_000;

describe(`${ORGS} orgs on one embedded Postgres: only orgs that publish a table hold a slot (real Postgres, Redis, Socket.IO)`, () => {
  let scratch: string;
  let cluster: RunningPostgres;
  let platform: TestPlatform;
  const orgs: CreatedOrg[] = [];
  const sockets: TestSocket[] = [];
  let provisioningMs = 0;

  const slotsOnCluster = () =>
    withPgClient(
      cluster.url,
      async (client) =>
        (await client.query<{ database: string; active: boolean }>('SELECT database, active FROM pg_replication_slots')).rows,
    );
  const databaseOf = async (slug: string) => (await platform.request('GET', `/v1/admin/orgs/${slug}`)).body.instance.database as string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'platform-many-orgs-'));
    await chmod(scratch, 0o755);
    // The cluster of its own, as `npm start` runs it (the embedded server's settings), thrown away after.
    cluster = await startEmbeddedPostgres({
      dataDir: join(scratch, 'postgres'),
      port: 0,
      logger: createLogger('test', 'silent'),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    platform = await startTestPlatform({
      env: {
        ORG_CLUSTER_URLS: `only=${cluster.url}`,
        REALTIME_RELAY_POLL_MS: '200',
        PROVISIONING_CONCURRENCY: '6',
        // 300 databases made six at a time on a busy 2-core machine: a connection that times out is retried, not fatal.
        PROVISIONING_ATTEMPTS: '8',
        TASK_CONCURRENCY: '4',
      },
    });
    const started = Date.now();
    let next = 0;
    const creators = Array.from({ length: CREATING_AT_ONCE }, async () => {
      while (next < ORGS) {
        const index = next++;
        const slug = `many-${String(index + 1).padStart(3, '0')}`;
        const created = await platform.request('POST', '/v1/admin/orgs', { body: { slug, name: slug } });
        if (created.status !== 202) throw new Error(`creating ${slug} answered ${created.status}: ${JSON.stringify(created.body)}`);
        orgs[index] = { id: created.body.org.id, slug, token: created.body.token };
      }
    });
    await Promise.all(creators);
    await waitFor(
      `${ORGS} orgs to be READY`,
      () =>
        withPgClient(platform.database.url, async (client) => {
          const { rows } = await client.query<{ ready: number; failed: string | null }>(
            `SELECT count(*) FILTER (WHERE status = 'READY')::int AS ready, max(last_error) FILTER (WHERE status = 'FAILED') AS failed FROM org_instances`,
          );
          if (rows[0]!.failed) throw new Error(`an org FAILED: ${rows[0]!.failed}`);
          return rows[0]!.ready === ORGS ? true : undefined;
        }),
      840_000,
    );
    provisioningMs = Date.now() - started;
    process.stdout.write(`provisioned ${ORGS} orgs on one embedded Postgres in ${provisioningMs} ms\n`);
  }, 900_000);
  afterAll(async () => {
    for (const client of sockets) client.close();
    await platform?.close();
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it(`holds no slot for ${ORGS} READY orgs with nothing published, and shows them IDLE`, async () => {
    expect(orgs).toHaveLength(ORGS);
    expect(await slotsOnCluster()).toEqual([]);
    // Each state is read from a census of the cluster: a census that failed under load shows
    // an org as ERROR until the next one, so the states are polled until they settle.
    let states: any[] = [];
    const notIdle = () => states.filter((realtime: any) => realtime?.state !== 'IDLE' || realtime.lagBytes !== 0);
    await waitFor(
      `${ORGS} orgs to show IDLE`,
      async () => {
        const { body } = await platform.request('GET', '/v1/admin/orgs');
        states = body.filter((entry: any) => entry.org.slug.startsWith('many-')).map((entry: any) => entry.instance.realtime);
        return states.length === ORGS && notIdle().length === 0 ? true : undefined;
      },
      SETTLE_MS,
    ).catch(() => undefined);
    expect(states).toHaveLength(ORGS);
    expect(notIdle()).toEqual([]);
  });

  it(`relays org #${ORGS}'s plain-SQL insert to a table subscriber and fires its change trigger, with one slot on the cluster`, async () => {
    const last = orgs[ORGS - 1]!;
    await platform.createUserTable(last.slug, 'orders');
    const relaying = await waitFor(
      `org #${ORGS} to relay`,
      async () => {
        const { body } = await platform.request('GET', `/v1/admin/orgs/${last.slug}`);
        return body.instance.realtime.state === 'RELAYING' ? body.instance.realtime : undefined;
      },
      30_000,
    );
    expect(relaying).toEqual({ state: 'RELAYING', lagBytes: expect.any(Number) });
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: last.token,
      body: { name: 'new orders', table: 'orders', events: ['INSERT'], task: { type: 'noop' } },
    });
    expect(trigger.status).toBe(201);
    const client = await connectRealtime(platform.baseUrl, last.token);
    sockets.push(client);
    expect((await client.subscribe({ topic: 'table', id: 'orders' })).ok).toBe(true);

    await withPgClient(Object.assign(new URL(cluster.url), { pathname: `/${await databaseOf(last.slug)}` }).toString(), (sql) =>
      sql.query(`INSERT INTO orders (key, value) VALUES ('o-1', '{"total": 12}')`),
    );

    const [event] = await client.waitForEvents(1, (candidate) => candidate.type === 'row.inserted', 20_000);
    expect(event).toMatchObject({
      org: last.id,
      topic: 'table:orders',
      data: { schema: 'public', table: 'orders', record: { key: 'o-1' } },
    });
    const fired = await waitFor(
      'the change trigger to run its task',
      async () => {
        const runs = (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs`, { token: last.token })).body;
        return runs.length === 1 ? runs : undefined;
      },
      30_000,
    );
    expect(fired).toHaveLength(1);
    const database = await databaseOf(last.slug);
    expect(await slotsOnCluster()).toEqual([{ database, active: true }]);
  });

  it('keeps an org that uses only tasks and pools without a slot', async () => {
    const busy = orgs[0]!;
    const task = await platform.request('POST', '/v1/tasks', { token: busy.token, body: { type: 'noop' } });
    expect(task.status).toBe(201);
    expect((await platform.request('POST', '/v1/pools', { token: busy.token, body: { name: 'sandboxes', kind: 'sandbox' } })).status).toBe(
      201,
    );
    const persisted = await waitFor('the task and the pool to be persisted', async () => {
      const [row] = await platform.queryOrgDatabase(
        busy.slug,
        `SELECT (SELECT count(*)::int FROM tasks WHERE status = 'SUCCESS') AS tasks, (SELECT count(*)::int FROM resource_pools) AS pools`,
      );
      return row.tasks === 1 && row.pools === 1 ? row : undefined;
    });
    expect(persisted).toEqual({ tasks: 1, pools: 1 });
    const database = await databaseOf(busy.slug);
    expect((await slotsOnCluster()).filter((slot) => slot.database === database)).toEqual([]);
    expect((await platform.request('GET', `/v1/admin/orgs/${busy.slug}`)).body.instance.realtime.state).toBe('IDLE');
  });

  it('never relays platform table writes: a relaying org gets row events of its own tables only', async () => {
    const last = orgs[ORGS - 1]!;
    const stream = platform.api.get(OrgEventStream);
    const from = await stream.lastId(last.id);
    const tasks = await Promise.all(
      Array.from(
        { length: 5 },
        async () => (await platform.request('POST', '/v1/tasks', { token: last.token, body: { type: 'noop' } })).body.id,
      ),
    );
    await platform.request('POST', '/v1/pools', { token: last.token, body: { name: 'relayed-pool', kind: 'sandbox' } });
    await platform.request('POST', '/v1/pools/relayed-pool/environments', { token: last.token, body: { name: 'env-1' } });
    await waitFor('the tasks and the pool to be persisted', async () => {
      const [{ tasks: persisted, environments }] = await platform.queryOrgDatabase(
        last.slug,
        `SELECT (SELECT count(*)::int FROM tasks WHERE id = ANY($1)) AS tasks, (SELECT count(*)::int FROM resource_environments) AS environments`,
        [tasks],
      );
      return persisted === tasks.length && environments === 1 ? true : undefined;
    });
    await platform.queryOrgDatabase(last.slug, `INSERT INTO config_entries (key, value) VALUES ('platform-write', '1')`);
    // The WAL is relayed in commit order: once this later insert is in the stream, every platform write before it was decoded too.
    await platform.queryOrgDatabase(last.slug, `INSERT INTO public.orders (key, value) VALUES ('sentinel', '1')`);
    await waitFor('the sentinel row event', async () =>
      (await stream.readAfter(last.id, from, 10_000)).some((event: any) => event.data?.record?.key === 'sentinel') ? true : undefined,
    );
    const rowEvents = ((await stream.readAfter(last.id, from, 10_000)) as any[]).filter((event) => event.type.startsWith('row.'));
    expect(rowEvents.map((event) => `${event.type} ${event.topic} ${event.data.record.key}`)).toEqual([
      'row.inserted table:orders sentinel',
    ]);
  });
});
