import { OrgEventStream } from '#libs/realtime';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, TEST_ADMIN_TOKEN, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe("realtime tenant isolation: org A's token never reaches org B (real Socket.IO, Redis, Postgres)", () => {
  let platform: TestPlatform;
  let orgA: CreatedOrg;
  let orgB: CreatedOrg;
  let taskB: string;
  let poolB: string;
  let poolA: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200' } });
    [orgA, orgB] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    taskB = (await platform.request('POST', '/v1/tasks', { token: orgB.token, body: { type: 'noop' } })).body.id;
    for (const org of [orgA, orgB]) {
      await platform.queryOrgDatabase(
        org.slug,
        'CREATE TABLE public.shared_items (key text PRIMARY KEY, value text); GRANT SELECT ON public.shared_items TO authenticated',
      );
    }
    await platform.queryOrgDatabase(orgB.slug, 'CREATE TABLE public.b_only (id int PRIMARY KEY, note text)');
    await platform.queryOrgDatabase(orgB.slug, 'GRANT SELECT ON public.b_only TO authenticated');
    // Real pools made through the API, one per org, each with an environment to lease.
    const makePool = async (org: CreatedOrg, name: string) => {
      const pool = (await platform.request('POST', '/v1/pools', { token: org.token, body: { name, kind: 'sandbox' } })).body;
      await platform.request('POST', `/v1/pools/${pool.id}/environments`, { token: org.token, body: { name: `${name}-1` } });
      return pool.id as string;
    };
    [poolA, poolB] = await Promise.all([makePool(orgA, 'a-pool'), makePool(orgB, 'b-pool')]);
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
      { topic: 'resource', id: `pool:${poolB}` },
      { topic: 'resource', id: `pool:${poolB}`, since: bStreamPosition },
    ];
    for (const payload of refusedAsNotFound) {
      expect([payload, await client.subscribe(payload)]).toEqual([payload, { ok: false, error: 'not_found', message: expect.any(String) }]);
    }
    const refusedAsInvalid = [
      { topic: 'tasks', org: orgB.id },
      { topic: 'task', id: taskB, org: orgB.id },
      { topic: 'table', id: 'shared_items', org: orgB.id },
      { topic: 'resource', id: `pool:${poolB}`, orgId: orgB.id },
      { topic: `task:${taskB}` },
      { topic: 'table', id: `${orgB.slug}.shared_items` },
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
      { topic: 'table', id: 'shared_items' },
      { topic: 'table', id: 'shared_items', filter: { key: 'shared-key' } },
      { topic: 'resource' },
      { topic: 'resource', id: `pool:${poolA}` },
      { topic: 'worker' },
      { topic: 'config' },
      { topic: 'config', id: 'shared-key' },
      { topic: 'documents', id: 'shared' },
      { topic: 'documents', id: 'shared', filter: { owner: 'b' } },
      { topic: 'audit' },
    ];
    const snapshots = [];
    for (const payload of accepted) {
      const answer = await client.subscribe(payload);
      expect([payload, answer.ok]).toEqual([payload, true]);
      snapshots.push(answer.snapshot);
    }
    expect(JSON.stringify(snapshots)).not.toContain(taskB);
    expect(JSON.stringify(snapshots)).not.toContain(poolB);

    // Org B changes everything org A subscribed to...
    await platform.request('POST', '/v1/tasks', { token: orgB.token, body: { type: 'noop' } });
    await platform.queryOrgDatabase(orgB.slug, `INSERT INTO public.shared_items (key, value) VALUES ('shared-key', 'b')`);
    await platform.queryOrgDatabase(orgB.slug, `INSERT INTO public.b_only (id, note) VALUES (1, 'b')`);
    const leaseB = await platform.request('POST', `/v1/pools/${poolB}/allocations`, {
      token: orgB.token,
      body: { holder: 'b', ttlSeconds: 60 },
    });
    expect(leaseB.status).toBe(201);
    await platform.request('PUT', '/v1/config/b-config', { token: orgB.token, body: { value: 'b' } });
    await platform.request('POST', '/v1/collections/shared/documents', { token: orgB.token, body: { id: 'b-doc', data: { owner: 'b' } } });
    // ...then org A does the same, and once A's own events are in, nothing of B's may have come.
    await platform.queryOrgDatabase(orgA.slug, `INSERT INTO public.shared_items (key, value) VALUES ('shared-key', 'a')`);
    const leaseA = await platform.request('POST', `/v1/pools/${poolA}/allocations`, {
      token: orgA.token,
      body: { holder: 'a', ttlSeconds: 60 },
    });
    expect(leaseA.status).toBe(201);
    const sentinel = (await platform.request('POST', '/v1/tasks', { token: orgA.token, body: { type: 'noop' } })).body.id;
    await client.waitForEvents(1, (event) => event.data?.id === sentinel && event.data.status === 'SUCCESS', 20_000);
    await client.waitForEvents(1, (event) => event.type === 'row.inserted' && event.data.record.key === 'shared-key');
    await client.waitForEvents(1, (event) => event.type === 'resource.updated' && event.topic === `resource:pool:${poolA}`);
    // B's pool really changed, in B's own stream: the isolation above is not for want of events.
    const bEvents = await platform.api.get(OrgEventStream).readAfter(orgB.id, bStreamPosition, 1000);
    expect(bEvents.some((event) => event.topic === `resource:pool:${poolB}`)).toBe(true);
    await platform.request('PUT', '/v1/config/a-config', { token: orgA.token, body: { value: 'a' } });
    await platform.request('POST', '/v1/collections/shared/documents', { token: orgA.token, body: { id: 'a-doc', data: { owner: 'a' } } });
    await client.waitForEvents(1, (event) => event.type === 'config.updated' && event.data.key === 'a-config');
    await client.waitForEvents(1, (event) => event.type === 'document.created' && event.data.id === 'a-doc');
    await client.waitForEvents(1, (event) => event.type === 'audit.recorded' && event.data.target.id === 'shared/a-doc');

    expect(client.events.length).toBeGreaterThan(0);
    const foreign = client.events.filter((event) => event.org !== orgA.id && event.org !== 'platform');
    expect(foreign).toEqual([]);
    expect(JSON.stringify(client.events)).not.toContain(orgB.id);
    expect(JSON.stringify(client.events)).not.toContain(poolB);
    expect(client.events.filter((event) => event.data?.record?.value === 'b')).toEqual([]);
    expect(JSON.stringify(client.events)).not.toContain('"b"');
    expect(JSON.stringify(client.events)).not.toMatch(/b-config|b-doc/);
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
