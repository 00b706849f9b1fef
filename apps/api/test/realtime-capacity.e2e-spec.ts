import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withPgClient } from '#libs/database';
import { createLogger } from '#libs/logging';
import { startEmbeddedPostgres, type RunningPostgres } from '#libs/runtime';
import { waitFor } from '#libs/testing';
import { connectRealtime } from './realtime-clients.js';
import { startTestPlatform, TEST_ADMIN_TOKEN, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** Slots and WAL senders each cluster leaves to the relays: REALTIME_SLOT_RESERVE of 2 is taken from these. */
const CLUSTER_SLOTS = { small: 3, large: 4 };

describe('relay capacity across two real clusters: placement by free slots, NO_CAPACITY when none is left (two embedded Postgres)', () => {
  let scratch: string;
  const clusters: Record<string, RunningPostgres> = {};
  let platform: TestPlatform;

  const orgView = async (slug: string) => (await platform.request('GET', `/v1/admin/orgs/${slug}`)).body.instance;
  const slotsOf = (cluster: string) =>
    withPgClient(
      clusters[cluster]!.url,
      async (client) => (await client.query<{ database: string }>('SELECT database FROM pg_replication_slots')).rows,
    );
  const publish = (org: CreatedOrg) => platform.createUserTable(org.slug);
  const stateOf = async (slug: string) => (await orgView(slug)).realtime.state as string;
  // Relay polls and deprovisioning (dropping a database) take seconds on a loaded runner: bounds for waiting, not assertions.
  const SETTLE_MS = 30_000;
  const waitForState = (slug: string, state: string) =>
    waitFor(`${slug} to be ${state}`, async () => ((await stateOf(slug)) === state ? true : undefined), SETTLE_MS);

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'platform-capacity-'));
    await chmod(scratch, 0o755);
    for (const [name, slots] of Object.entries(CLUSTER_SLOTS)) {
      clusters[name] = await startEmbeddedPostgres({
        dataDir: join(scratch, name),
        port: 0,
        logger: createLogger('test', 'silent'),
        settings: { fsync: 'off', max_replication_slots: String(slots), max_wal_senders: String(slots) },
      });
    }
    platform = await startTestPlatform({
      env: {
        ORG_CLUSTER_URLS: Object.entries(clusters)
          .map(([name, server]) => `${name}=${server.url}`)
          .join(','),
        REALTIME_RELAY_POLL_MS: '200',
        REALTIME_SLOT_RESERVE: '2',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    for (const server of Object.values(clusters)) await server.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('places orgs by free relay capacity, reports NO_CAPACITY in the admin API, refuses a new org when none is left, and frees a slot on idle and deprovision', async () => {
    // large: 2 relay places, small: 1.
    const first = await platform.createOrg('cap-first');
    expect((await orgView(first.slug)).cluster).toBe('large');
    await publish(first);
    await waitForState(first.slug, 'RELAYING');

    // Both now have one place free: the one with fewer orgs wins.
    const second = await platform.createOrg('cap-second');
    expect((await orgView(second.slug)).cluster).toBe('small');
    await publish(second);
    await waitForState(second.slug, 'RELAYING');

    // small is full; large still has one place, and orgs with nothing published hold none of it.
    const third = await platform.createOrg('cap-third');
    const fourth = await platform.createOrg('cap-fourth');
    expect([(await orgView(third.slug)).cluster, (await orgView(fourth.slug)).cluster]).toEqual(['large', 'large']);
    expect(await stateOf(third.slug)).toBe('IDLE');

    await publish(third);
    await waitForState(third.slug, 'RELAYING');
    const admin = await connectRealtime(platform.baseUrl, TEST_ADMIN_TOKEN);
    expect((await admin.subscribe({ topic: 'orgs' })).ok).toBe(true);
    await publish(fourth);
    await waitForState(fourth.slug, 'NO_CAPACITY');
    // The admin's orgs topic is told too, without asking.
    const [told] = await admin.waitForEvents(
      1,
      (event) => event.data?.org?.slug === fourth.slug && event.data.instance.realtime?.state === 'NO_CAPACITY',
    );
    expect(told.type).toBe('org.updated');
    admin.close();
    const refused = await orgView(fourth.slug);
    expect(refused.realtime).toEqual({
      state: 'NO_CAPACITY',
      lagBytes: 0,
      error: expect.stringMatching(/cluster "large" has no relay capacity left: 2 replication slots in use of 2/),
    });
    const listed = (await platform.request('GET', '/v1/admin/orgs')).body.find((entry: any) => entry.org.slug === fourth.slug);
    expect(listed.instance.realtime.state).toBe('NO_CAPACITY');
    const health = await platform.request('GET', '/health/ready');
    expect(health.body.details.realtime.notRelaying).toEqual([expect.objectContaining({ org: fourth.slug, state: 'NO_CAPACITY' })]);
    const metrics = await (await fetch(`${platform.baseUrl}/metrics`)).text();
    expect(metrics).toContain('platform_realtime_orgs{state="NO_CAPACITY"} 1');

    const full = await platform.request('POST', '/v1/admin/orgs', { body: { slug: 'cap-fifth', name: 'No room' } });
    expect(full.status).toBe(503);
    expect(full.body.message).toMatch(/no org cluster has relay capacity left/);

    // The third org drops its only table: it goes IDLE, its slot is dropped, and the waiting org takes the place.
    await platform.queryOrgDatabase(third.slug, 'DROP TABLE public.entries');
    await waitForState(third.slug, 'IDLE');
    await waitForState(fourth.slug, 'RELAYING');
    const fourthDatabase = (await orgView(fourth.slug)).database;
    const firstDatabase = (await orgView(first.slug)).database;
    expect((await slotsOf('large')).map((slot) => slot.database).sort()).toEqual([firstDatabase, fourthDatabase].sort());

    // The admin chooses what is published: nothing frees the org's slot, every table of public takes one again.
    const route = `/v1/admin/orgs/${first.slug}/realtime`;
    expect((await platform.request('GET', route)).body).toEqual({ scope: 'all', tables: ['entries'] });
    expect((await platform.request('PUT', route, { body: { tables: ['no_such_table'] } })).status).toBe(400);
    expect((await platform.request('PUT', route, { body: { tables: 'entries' } })).status).toBe(400);
    expect((await platform.request('PUT', route, { body: { tables: [] } })).body).toEqual({ scope: 'listed', tables: [] });
    await waitForState(first.slug, 'IDLE');
    await waitFor(
      'the idle org to hold no slot',
      async () => ((await slotsOf('large')).every((slot) => slot.database !== firstDatabase) ? true : undefined),
      SETTLE_MS,
    );
    expect((await platform.request('PUT', route, { body: { tables: ['entries'] } })).body).toEqual({
      scope: 'listed',
      tables: ['entries'],
    });
    await waitForState(first.slug, 'RELAYING');

    // Deprovisioning drops the org's slot.
    expect((await platform.request('DELETE', `/v1/admin/orgs/${second.slug}`)).status).toBe(202);
    await waitFor(
      'the second org to be deleted',
      async () => {
        const { body } = await platform.request('GET', '/v1/admin/orgs');
        return body.find((entry: any) => entry.org.slug === second.slug)?.instance.status === 'DELETED' ? true : undefined;
      },
      SETTLE_MS,
    );
    expect(await slotsOf('small')).toEqual([]);
  });
});
