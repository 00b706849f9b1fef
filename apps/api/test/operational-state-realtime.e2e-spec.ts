import { call, createToken } from './operational-state-http.js';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('live operational state: config, documents and audit topics, snapshot first (real Socket.IO, Redis, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let member: { id: string; token: string };
  let viewer: { id: string; token: string };
  const sockets: TestSocket[] = [];
  const as = (token: string) => (method: string, path: string, options?: Parameters<typeof call>[4]) =>
    call(platform.baseUrl, token, method, path, options);
  const connect = async (token: string) => {
    const socket = await connectRealtime(platform.baseUrl, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    org = await platform.createOrg();
    member = await createToken(platform.baseUrl, org.token, 'member');
    viewer = await createToken(platform.baseUrl, org.token, 'viewer');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  it('config: the snapshot is the current entries (or the one key), then config.updated and config.deleted with the new version', async () => {
    await as(member.token)('PUT', '/v1/config/feature.flags', { body: { value: { beta: false } } });
    const client = await connect(viewer.token);
    const all = await client.subscribe({ topic: 'config' });
    expect(all).toMatchObject({
      ok: true,
      snapshot: { items: [expect.objectContaining({ key: 'feature.flags', version: 1 })], nextCursor: null },
    });
    const one = await client.subscribe({ topic: 'config', id: 'deploy/target' });
    expect([one.ok, one.snapshot]).toEqual([true, null]);
    const existing = await client.subscribe({ topic: 'config', id: 'feature.flags' });
    expect(existing.snapshot).toMatchObject({ key: 'feature.flags', value: { beta: false }, version: 1 });

    await as(member.token)('PUT', '/v1/config/deploy%2Ftarget', { body: { value: 'blue' } });
    await as(member.token)('PUT', '/v1/config/deploy%2Ftarget', { body: { value: 'green' } });
    await as(member.token)('DELETE', '/v1/config/deploy%2Ftarget');
    const events = await client.waitForEvents(
      3,
      (event) => event.topic === 'config:deploy/target' && event.subscriptions.includes(one.subscription),
    );
    expect(events.map((event) => [event.type, event.data.version, event.data.value])).toEqual([
      ['config.updated', 1, 'blue'],
      ['config.updated', 2, 'green'],
      ['config.deleted', 3, undefined],
    ]);
    expect(events.every((event) => event.org === org.id)).toBe(true);
  });

  it('documents: the snapshot is the filtered collection, then created, updated and deleted events that match the filter', async () => {
    const write = as(member.token);
    await write('POST', '/v1/collections/deploys/documents', { body: { id: 'old-prod', data: { env: 'prod', n: 0 } } });
    await write('POST', '/v1/collections/deploys/documents', { body: { id: 'old-dev', data: { env: 'dev', n: 0 } } });
    const client = await connect(viewer.token);
    const prod = await client.subscribe({ topic: 'documents', id: 'deploys', filter: { env: 'prod' } });
    expect(prod.ok).toBe(true);
    expect(prod.snapshot.items.map((document: { id: string }) => document.id)).toEqual(['old-prod']);
    const every = await client.subscribe({ topic: 'documents', id: 'deploys' });
    expect(every.snapshot.items.map((document: { id: string }) => document.id)).toEqual(['old-dev', 'old-prod']);

    await write('POST', '/v1/collections/deploys/documents', { body: { id: 'web', data: { env: 'prod', n: 1 } } });
    await write('POST', '/v1/collections/deploys/documents', { body: { id: 'api', data: { env: 'dev', n: 1 } } });
    await write('POST', '/v1/collections/elsewhere/documents', { body: { id: 'web', data: { env: 'prod' } } });
    await write('PATCH', '/v1/collections/deploys/documents/web', { body: { data: { n: 2 } } });
    await write('DELETE', '/v1/collections/deploys/documents/web');
    await write('DELETE', '/v1/collections/deploys/documents/api');

    const everything = await client.waitForEvents(5, (event) => event.subscriptions.includes(every.subscription));
    expect(everything.map((event) => [event.type, event.data.id, event.data.version])).toEqual([
      ['document.created', 'web', 1],
      ['document.created', 'api', 1],
      ['document.updated', 'web', 2],
      ['document.deleted', 'web', 3],
      ['document.deleted', 'api', 2],
    ]);
    const filtered = client.events.filter((event) => event.subscriptions.includes(prod.subscription));
    expect(filtered.map((event) => [event.type, event.data.collection, event.data.id, event.data.data.env])).toEqual([
      ['document.created', 'deploys', 'web', 'prod'],
      ['document.updated', 'deploys', 'web', 'prod'],
      ['document.deleted', 'deploys', 'web', 'prod'],
    ]);
  });

  it('audit: admins get the newest rows then audit.recorded per request; viewers and members are refused, also through the table topic', async () => {
    const admin = await connect(org.token);
    const watched = await admin.subscribe({ topic: 'audit' });
    expect(watched.ok).toBe(true);
    expect(watched.snapshot.items.length).toBeGreaterThan(0);
    expect(watched.snapshot.items[0]).toMatchObject({ action: expect.any(String), actor: expect.any(Object), outcome: expect.any(String) });

    await as(member.token)('PUT', '/v1/config/audited', { body: { value: 'not in the log' }, headers: { 'x-request-id': 'live-audit' } });
    await as(member.token)('POST', '/v1/tasks', { body: { type: 'noop' }, headers: { 'x-request-id': 'live-task' } });
    const [put, task] = await Promise.all([
      admin.waitForEvents(1, (event) => event.type === 'audit.recorded' && event.data.requestId === 'live-audit'),
      admin.waitForEvents(1, (event) => event.type === 'audit.recorded' && event.data.requestId === 'live-task'),
    ]);
    expect(put[0]).toMatchObject({
      topic: 'audit',
      data: { action: 'config.put', target: { type: 'config', id: 'audited' }, outcome: 'success' },
    });
    expect(task[0].data).toMatchObject({ action: 'task.create', actor: { id: member.id, role: 'member' } });
    expect(JSON.stringify(admin.events)).not.toContain('not in the log');

    for (const token of [viewer.token, member.token]) {
      const client = await connect(token);
      expect(await client.subscribe({ topic: 'audit' })).toMatchObject({ ok: false, error: 'not_found' });
      expect(await client.subscribe({ topic: 'table', id: 'audit_log' })).toMatchObject({ ok: false, error: 'not_found' });
    }
  });

  it('refuses malformed config and documents subscriptions as invalid_payload', async () => {
    const client = await connect(org.token);
    for (const payload of [
      { topic: 'documents' },
      { topic: 'documents', id: 'bad name' },
      { topic: 'documents', id: 'deploys', filter: { 'bad field': 1 } },
      { topic: 'config', filter: { key: 'x' } },
      { topic: 'config', id: 'bad key!' },
      { topic: 'audit', id: 'x' },
    ]) {
      expect([payload, await client.subscribe(payload)]).toEqual([
        payload,
        { ok: false, error: 'invalid_payload', message: expect.any(String) },
      ]);
    }
  });
});
