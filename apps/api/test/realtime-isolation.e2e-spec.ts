import { EventType } from '#libs/contracts';
import { OrgEventStream, RealtimeSnapshotProviders, SnapshotNotFoundError } from '#libs/realtime';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, TEST_ADMIN_TOKEN, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe("realtime tenant isolation: org A's token never reaches org B (real Socket.IO, Redis, Postgres)", () => {
  let platform: TestPlatform;
  let orgA: CreatedOrg;
  let orgB: CreatedOrg;
  let taskB: string;
  const sockets: TestSocket[] = [];
  const resources: Record<string, string[]> = {};

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200' } });
    [orgA, orgB] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    await Promise.all([orgA, orgB].map((org) => platform.createUserTable(org.slug)));
    taskB = (await platform.request('POST', '/v1/tasks', { token: orgB.token, body: { type: 'noop' } })).body.id;
    await platform.queryOrgDatabase(orgB.slug, 'CREATE TABLE public.b_only (id int PRIMARY KEY, note text)');
    await platform.queryOrgDatabase(orgB.slug, 'GRANT SELECT ON public.b_only TO authenticated');
    // A resource module's snapshot provider, as the resources module registers it: it knows org B's pool only.
    resources[orgB.id] = ['pool:b1'];
    platform.api.get(RealtimeSnapshotProviders).register('resource', {
      snapshot: async (principal, request) => {
        const own = (resources[principal.orgId] ?? []).filter((id) => !request.id || id === request.id || id.startsWith(`${request.id}:`));
        // An id naming one resource (kind:id) that the caller's org lacks is not found; a kind alone lists what the org has.
        if (request.id?.includes(':') && own.length === 0) throw new SnapshotNotFoundError(`no resource ${request.id}`);
        return own;
      },
    });
  });
  afterAll(async () => {
    for (const client of sockets) client.close();
    await platform.close();
  });

  it('refuses every subscription naming org B ids, and no accepted one ever delivers an org B event', async () => {
    await waitFor('both relays to stream', async () => {
      const slots = await Promise.all(
        [orgA, orgB].map((org) =>
          platform.queryOrgDatabase(org.slug, 'SELECT active FROM pg_replication_slots WHERE database = current_database()'),
        ),
      );
      return slots.every(([slot]) => slot?.active) ? true : undefined;
    });
    const client = await connectRealtime(platform.baseUrl, orgA.token);
    sockets.push(client);
    const bStreamPosition = await platform.api.get(OrgEventStream).lastId(orgB.id);

    const refusedAsNotFound = [
      { topic: 'task', id: taskB },
      { topic: 'task', id: taskB, since: '0-0' },
      { topic: 'task', id: taskB, since: bStreamPosition },
      { topic: 'table', id: 'b_only' },
      { topic: 'table', id: 'b_only', filter: { id: 1 } },
      { topic: 'table', id: 'b_only', since: bStreamPosition },
      { topic: 'resource', id: 'pool:b1' },
      { topic: 'resource', id: 'pool:b1', since: bStreamPosition },
    ];
    for (const payload of refusedAsNotFound) {
      expect([payload, await client.subscribe(payload)]).toEqual([payload, { ok: false, error: 'not_found', message: expect.any(String) }]);
    }
    const refusedAsInvalid = [
      { topic: 'tasks', org: orgB.id },
      { topic: 'task', id: taskB, org: orgB.id },
      { topic: 'table', id: 'entries', org: orgB.id },
      { topic: 'resource', id: 'pool:b1', orgId: orgB.id },
      { topic: `task:${taskB}` },
      { topic: 'table', id: `${orgB.slug}.entries` },
      { topic: 'table', id: 'public.b_only' },
      { topic: 'tasks', filter: { org_id: orgB.id } },
    ];
    for (const payload of refusedAsInvalid) {
      expect([payload, await client.subscribe(payload)]).toEqual([
        payload,
        { ok: false, error: 'invalid_payload', message: expect.any(String) },
      ]);
    }

    // Subscriptions that are allowed (they name only org A's own things) with every variant of since and filter.
    const accepted = [
      { topic: 'tasks' },
      { topic: 'tasks', since: bStreamPosition },
      { topic: 'tasks', filter: { type: 'noop' } },
      { topic: 'table', id: 'entries' },
      { topic: 'table', id: 'entries', filter: { key: 'shared-key' } },
      { topic: 'resource' },
      { topic: 'resource', id: 'pool' },
      { topic: 'worker' },
    ];
    const snapshots = [];
    for (const payload of accepted) {
      const answer = await client.subscribe(payload);
      expect([payload, answer.ok]).toEqual([payload, true]);
      snapshots.push(answer.snapshot);
    }
    expect(JSON.stringify(snapshots)).not.toContain(taskB);

    // Org B changes everything org A subscribed to...
    await platform.request('POST', '/v1/tasks', { token: orgB.token, body: { type: 'noop' } });
    await platform.queryOrgDatabase(orgB.slug, `INSERT INTO entries (key, value) VALUES ('shared-key', '"b"')`);
    await platform.queryOrgDatabase(orgB.slug, `INSERT INTO b_only (id, note) VALUES (1, 'b')`);
    await platform.api
      .get(OrgEventStream)
      .append(orgB.id, { topic: 'resource:pool:b1', type: EventType.resourceUpdated, at: new Date().toISOString(), data: { id: 'b1' } });
    // ...then org A does the same, and once A's own events are in, nothing of B's may have come.
    await platform.queryOrgDatabase(orgA.slug, `INSERT INTO entries (key, value) VALUES ('shared-key', '"a"')`);
    const sentinel = (await platform.request('POST', '/v1/tasks', { token: orgA.token, body: { type: 'noop' } })).body.id;
    await client.waitForEvents(1, (event) => event.data?.id === sentinel && event.data.status === 'SUCCESS', 20_000);
    await client.waitForEvents(1, (event) => event.type === 'row.inserted' && event.data.record.key === 'shared-key');

    expect(client.events.length).toBeGreaterThan(0);
    const foreign = client.events.filter((event) => event.org !== orgA.id && event.org !== 'platform');
    expect(foreign).toEqual([]);
    expect(JSON.stringify(client.events)).not.toContain(orgB.id);
    expect(JSON.stringify(client.events)).not.toContain('"b"');
  });
});

describe('the orgs topic: the platform admin watches provisioning live, orgs cannot', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('streams org.updated from PENDING to READY to the admin, and refuses every other combination', async () => {
    const admin = await connectRealtime(platform.baseUrl, TEST_ADMIN_TOKEN);
    const org = await platform.createOrg();
    const member = await connectRealtime(platform.baseUrl, org.token);
    try {
      const watched = await admin.subscribe({ topic: 'orgs' });
      expect(watched.ok).toBe(true);
      expect(watched.snapshot).toEqual([
        expect.objectContaining({ org: expect.objectContaining({ id: org.id }), instance: expect.objectContaining({ status: 'READY' }) }),
      ]);
      expect(JSON.stringify(watched.snapshot)).not.toMatch(/credentials|password/);

      const created = await platform.request('POST', '/v1/admin/orgs', { body: { slug: 'watched-live', name: 'Watched' } });
      const events = await admin.waitForEvents(
        1,
        (event) => event.data?.org?.slug === 'watched-live' && event.data.instance.status === 'READY',
        20_000,
      );
      expect(events[0]).toMatchObject({ type: 'org.updated', topic: `org:${created.body.org.id}` });
      const statuses = admin.events.filter((event) => event.data?.org?.slug === 'watched-live').map((event) => event.data.instance.status);
      expect(statuses[0]).toBe('PENDING');
      expect(statuses).toContain('PROVISIONING');

      expect(await member.subscribe({ topic: 'orgs' })).toMatchObject({ ok: false, error: 'not_found' });
      expect(await admin.subscribe({ topic: 'tasks' })).toMatchObject({ ok: false, error: 'not_found' });
      expect(member.events.filter((event) => event.type === 'org.updated')).toEqual([]);
    } finally {
      admin.close();
      member.close();
    }
  });
});
