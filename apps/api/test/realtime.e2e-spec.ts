import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('realtime gateway: handshake, subscriptions, snapshots, replay (real Socket.IO, Redis, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const sockets: TestSocket[] = [];
  const connect = async (token: string | null = org.token) => {
    const client = await connectRealtime(platform.baseUrl, token ?? undefined);
    sockets.push(client);
    return client;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200' } });
    org = await platform.createOrg();
    await platform.createUserTable(org.slug);
  });
  afterEach(() => {
    for (const client of sockets.splice(0)) client.close();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('refuses a missing or unknown token at the handshake, and keeps the platform admin to its own topic', async () => {
    await expect(connect(null)).rejects.toThrow(/missing token/);
    await expect(connect('plat_org_not-a-real-token')).rejects.toThrow(/invalid, expired or revoked/);
    await expect(connect('a.b.c')).rejects.toThrow(/invalid, expired or revoked/);
    const admin = await connect(platform.env.PLATFORM_ADMIN_TOKEN);
    expect(await admin.subscribe({ topic: 'task', id: '00000000-0000-4000-8000-000000000000' })).toMatchObject({
      ok: false,
      error: 'not_found',
    });
  });

  it('accepts a session JWT made from an org token', async () => {
    const session = await platform.request('POST', '/v1/auth/session', { token: org.token });
    const client = await connect(session.body.access_token);
    expect((await client.subscribe({ topic: 'tasks' })).ok).toBe(true);
  });

  it('answers bad subscribe payloads with { ok: false, error } and keeps the socket usable', async () => {
    const client = await connect();
    const bad: unknown[] = [
      null,
      'tasks',
      [],
      {},
      { topic: 'everything' },
      { topic: 'task' },
      { topic: 'tasks', id: 'x' },
      { topic: 'tasks', filter: { status: 'SLEEPING' } },
      { topic: 'tasks', filter: { owner: 'me' } },
      { topic: 'table' },
      { topic: 'table', id: 'entries; DROP TABLE tasks' },
      { topic: 'table', id: 'entries', filter: { 'key; --': 1 } },
      { topic: 'table', id: 'entries', filter: { key: { nested: true } } },
      { topic: 'table', id: 'entries', filter: { no_such_column: 1 } },
      { topic: 'tasks', since: 'yesterday' },
      { topic: 'tasks', extra: true },
      { topic: 'worker', filter: { id: 'w' } },
    ];
    for (const payload of bad) {
      const answer = await client.subscribe(payload);
      expect(answer).toEqual({ ok: false, error: 'invalid_payload', message: expect.any(String) });
    }
    expect(await client.unsubscribe('s999')).toMatchObject({ ok: false, error: 'not_found' });
    expect(await client.socket.timeout(5000).emitWithAck('unsubscribe', 42)).toMatchObject({ ok: false, error: 'invalid_payload' });
    expect(client.socket.connected).toBe(true);
    expect((await client.subscribe({ topic: 'tasks' })).ok).toBe(true);
  });

  it('streams a task: snapshot first, then every transition and log chunk in order, until unsubscribed', async () => {
    const client = await connect();
    const created = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 300 } } });
    const answer = await client.subscribe({ topic: 'task', id: created.body.id });
    expect(answer).toMatchObject({ ok: true, subscription: expect.any(String), snapshot: { task: { id: created.body.id } } });
    const updates = await client.waitForEvents(1, (event) => event.type === 'task.updated' && event.data.status === 'SUCCESS', 20_000);
    expect(updates[0]).toMatchObject({ org: org.id, topic: `task:${created.body.id}`, subscriptions: [answer.subscription] });
    const ids = client.events.map((event) => event.id);
    expect([...new Set(ids)]).toEqual(ids);
    const statuses = client.events.filter((event) => event.type === 'task.updated').map((event) => event.data.status);
    expect(statuses.at(-1)).toBe('SUCCESS');
    expect(await client.unsubscribe(answer.subscription)).toEqual({ ok: true });
  });

  it('filters the tasks topic by status and type', async () => {
    const client = await connect();
    const answer = await client.subscribe({ topic: 'tasks', filter: { status: 'SUCCESS', type: 'noop' } });
    expect(answer).toMatchObject({ ok: true, snapshot: { items: expect.any(Array) } });
    const noop = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 1 } } });
    await client.waitForEvents(1, (event) => event.data.id === noop.body.id, 20_000);
    expect(client.events.every((event) => event.data.status === 'SUCCESS' && event.data.type === 'noop')).toBe(true);
  });

  it('replays what happened after `since` before live events, and answers since_expired past retention', async () => {
    const client = await connect();
    const first = await client.subscribe({ topic: 'tasks' });
    const created: string[] = [];
    for (let i = 0; i < 3; i++)
      created.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id);
    const live = await client.waitForEvents(3, (event) => created.includes(event.data.id) && event.data.status === 'QUEUED');

    const late = await connect();
    const replayed = await late.subscribe({ topic: 'tasks', since: first.position });
    expect(replayed.ok).toBe(true);
    const again = await late.waitForEvents(3, (event) => created.includes(event.data.id) && event.data.status === 'QUEUED');
    expect(again.map((event) => event.id)).toEqual(live.map((event) => event.id));
    const ids = late.events.map((event) => event.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);

    expect(await late.subscribe({ topic: 'tasks', since: '1-0' })).toMatchObject({ ok: false, error: 'since_expired' });
  });

  it('sends an INSERT made with plain SQL to a client subscribed to that table, filtered by column', async () => {
    await waitFor('the relay to stream the org database', async () => {
      const [slot] = await platform.queryOrgDatabase(
        org.slug,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active ? true : undefined;
    });
    const client = await connect();
    const answer = await client.subscribe({ topic: 'table', id: 'entries', filter: { key: 'wanted' } });
    expect(answer).toMatchObject({ ok: true, snapshot: { rows: [], truncated: false } });
    const insertedAt = Date.now();
    await platform.queryOrgDatabase(org.slug, `INSERT INTO entries (key, value) VALUES ('ignored', '1'), ('wanted', '{"a": 1}')`);
    const [event] = await client.waitForEvents(1);
    const latencyMs = Date.now() - insertedAt;
    expect(event).toMatchObject({
      org: org.id,
      topic: 'table:entries',
      type: 'row.inserted',
      data: {
        schema: 'public',
        table: 'entries',
        record: { key: 'wanted', value: { a: 1 } },
        old_record: null,
        lsn: expect.any(String),
      },
    });
    expect(latencyMs).toBeLessThan(2000);
    await platform.queryOrgDatabase(org.slug, `DELETE FROM entries WHERE key = 'wanted'`);
    const [deleted] = await client.waitForEvents(1, (e) => e.type === 'row.deleted');
    expect(deleted.data).toMatchObject({ record: null, old_record: { key: 'wanted' } });
    expect(client.events.filter((e) => e.data.record?.key === 'ignored')).toEqual([]);
  });
});
