import { PlatformApiError, PlatformClient, RealtimeSubscriptionError, type RealtimeMessage } from '#libs/client';
import { OrgEventStream } from '#libs/realtime';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** Row changes made while the client is disconnected. */
const MISSED = 500;

describe('client SDK: REST helpers and subscriptions that survive reconnects without gaps or duplicates (real platform)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const clients: PlatformClient[] = [];
  const newClient = (token = org.token) => {
    const client = new PlatformClient({ url: platform.baseUrl, token });
    clients.push(client);
    return client;
  };
  const next = async <T>(iterator: AsyncIterator<RealtimeMessage<T>>) => (await iterator.next()).value as RealtimeMessage<T>;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200' } });
    org = await platform.createOrg();
    await waitFor('the relay to stream the org database', async () => {
      const [slot] = await platform.queryOrgDatabase(
        org.slug,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active ? true : undefined;
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await platform.close();
  });

  it('calls the REST routes with types, and throws PlatformApiError for error answers', async () => {
    const client = newClient();
    const task = await client.tasks.create({ type: 'noop' });
    expect((await client.tasks.get(task.id)).id).toBe(task.id);
    expect((await client.tasks.list({ type: 'noop', limit: 5 })).items.map((item) => item.id)).toContain(task.id);
    expect(await client.tasks.logs(task.id)).toMatchObject({ items: expect.any(Array) });
    expect(Array.isArray(await client.workers.list())).toBe(true);
    const token = await client.tokens.create({ name: 'sdk', role: 'viewer' });
    expect((await client.tokens.list()).map((item) => item.id)).toContain(token.id);
    const revocable = newClient(token.token);
    const session = await revocable.session.create();
    expect(session.token_type).toBe('bearer');
    expect((await revocable.tasks.get(task.id)).id).toBe(task.id);
    await client.tokens.revoke(token.id);
    expect((await client.tokens.list()).find((item) => item.id === token.id)?.revokedAt).toEqual(expect.any(String));
    await expect(revocable.tasks.get(task.id)).rejects.toMatchObject({ status: 401 });
    await expect(newClient(token.token).session.create()).rejects.toMatchObject({ status: 401 });
    await expect(client.tasks.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    await expect(client.tasks.create({ type: 'teleport' })).rejects.toBeInstanceOf(PlatformApiError);
  });

  it(`replays all ${MISSED} events missed while disconnected, in order and without duplicates, then goes on live`, async () => {
    const client = newClient();
    const subscription = client.subscribe<{ rows: unknown[] }>({ topic: 'table', id: 'config_entries', filter: { value: 'missed' } });
    expect(await next(subscription)).toMatchObject({ kind: 'snapshot', refetched: false });
    await platform.queryOrgDatabase(org.slug, `INSERT INTO config_entries (key, value) VALUES ('before', '"missed"')`);
    const before = await next(subscription);
    expect(before).toMatchObject({ kind: 'event', event: { data: { record: { key: 'before' } } } });

    client.realtime.socket.disconnect();
    for (let batch = 0; batch < 5; batch++) {
      await platform.queryOrgDatabase(
        org.slug,
        `INSERT INTO config_entries (key, value) SELECT 'missed-' || lpad(n::text, 3, '0'), '"missed"' FROM generate_series($1::int, $2::int) AS n`,
        [batch * 100, batch * 100 + 99],
      );
    }
    const stream = platform.api.get(OrgEventStream);
    await waitFor('the missed rows to reach the stream', async () => {
      const stored = await stream.readAfter(org.id, (before as { event: { id: string } }).event.id, MISSED + 10);
      return stored.length >= MISSED ? true : undefined;
    });
    client.realtime.socket.connect();

    const received: { id: string; key: string }[] = [];
    while (received.length < MISSED) {
      const message = await next(subscription);
      if (message.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(message)}`);
      received.push({ id: message.event.id, key: (message.event.data as { record: { key: string } }).record.key });
    }
    expect(received.map((item) => item.key)).toEqual(Array.from({ length: MISSED }, (_, n) => `missed-${String(n).padStart(3, '0')}`));
    const ids = received.map((item) => item.id);
    expect(new Set(ids).size).toBe(MISSED);

    await platform.queryOrgDatabase(org.slug, `INSERT INTO config_entries (key, value) VALUES ('after', '"missed"')`);
    expect(await next(subscription)).toMatchObject({ kind: 'event', event: { data: { record: { key: 'after' } } } });
    subscription.close();
  });

  it('refetches the snapshot, and says so, when the missed events are no longer kept', async () => {
    const client = newClient();
    const subscription = client.subscribe<{ rows: { key: string }[] }>({
      topic: 'table',
      id: 'config_entries',
      filter: { value: 'expired' },
    });
    expect(await next(subscription)).toMatchObject({ kind: 'snapshot', refetched: false, snapshot: { rows: [] } });
    client.realtime.socket.disconnect();
    await platform.queryOrgDatabase(org.slug, `INSERT INTO config_entries (key, value) VALUES ('while-away', '"expired"')`);
    const stream = platform.api.get(OrgEventStream);
    await waitFor('the row to reach the stream', async () =>
      (await stream.readAfter(org.id, '0-0', 10_000)).some((event) => (event.data as any).record?.key === 'while-away') ? true : undefined,
    );
    await stream.trimOlderThan(org.id, -1000);
    client.realtime.socket.connect();
    expect(await next(subscription)).toMatchObject({ kind: 'snapshot', refetched: true, snapshot: { rows: [{ key: 'while-away' }] } });
    subscription.close();
  });

  it('watches a task to its end, and ends the iterator with the refusal for an unknown task', async () => {
    const client = newClient();
    const task = await client.tasks.create({ type: 'sleep', params: { ms: 200 } });
    const statuses: string[] = [];
    for await (const message of client.watchTask(task.id)) {
      const status = message.kind === 'snapshot' ? message.snapshot.task.status : (message.event.data as { status?: string }).status;
      if (message.kind === 'event' && message.event.type !== 'task.updated') continue;
      statuses.push(status!);
      if (status === 'SUCCESS') break;
    }
    expect(statuses.at(-1)).toBe('SUCCESS');
    const unknown = client.watchTask('00000000-0000-4000-8000-000000000000');
    await expect(unknown.next()).rejects.toBeInstanceOf(RealtimeSubscriptionError);
  });
});
