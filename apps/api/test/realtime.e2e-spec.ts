import pg from 'pg';
import { RedisConnection } from '#libs/redis';
import { spawnPlatformProcess, waitFor, waitForBarrier } from '#libs/testing';
import { createToken } from './operational-state-http.js';
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
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200', TASK_SHELL_ALLOW: 'sh' } });
    org = await platform.createOrg();
    // A user table of the org's own, as an app would make it; tables in schema public are published.
    await platform.queryOrgDatabase(
      org.slug,
      'CREATE TABLE public.rt_items (key text PRIMARY KEY, value jsonb, note text); GRANT SELECT ON public.rt_items TO authenticated',
    );
  });
  afterEach(() => {
    for (const client of sockets.splice(0)) client.close();
  });
  afterAll(async () => {
    await platform.close();
  });
  const waitForRelay = () =>
    waitFor('the relay to stream the org database', async () => {
      const [slot] = await platform.queryOrgDatabase(
        org.slug,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active ? true : undefined;
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
      { topic: 'table', id: 'rt_items; DROP TABLE tasks' },
      { topic: 'table', id: 'rt_items', filter: { 'key; --': 1 } },
      { topic: 'table', id: 'rt_items', filter: { key: { nested: true } } },
      { topic: 'table', id: 'rt_items', filter: { no_such_column: 1 } },
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
    // The position before the task exists, so the subscription replays the task from its creation on.
    const { position } = await client.subscribe({ topic: 'tasks', filter: { type: 'noop' } });
    const script = 'for i in 1 2 3; do echo "out-$i"; echo "err-$i" >&2; done';
    const created = await platform.request('POST', '/v1/tasks', {
      token: org.token,
      body: { type: 'shell', params: { command: 'sh', args: ['-c', script] } },
    });
    const answer = await client.subscribe({ topic: 'task', id: created.body.id, since: position });
    expect(answer).toMatchObject({ ok: true, subscription: expect.any(String), snapshot: { task: { id: created.body.id } } });
    const ours = () => client.events.filter((event) => event.subscriptions.includes(answer.subscription));
    await client.waitForEvents(1, (event) => event.type === 'task.updated' && event.data.status === 'SUCCESS', 20_000);
    // Nothing may follow the final state: a noop task's events, later in the same stream, mark the end.
    const marker = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id;
    await client.waitForEvents(1, (event) => event.data.id === marker && event.data.status === 'SUCCESS', 20_000);

    const events = ours();
    expect(events.every((event) => event.org === org.id && event.topic === `task:${created.body.id}`)).toBe(true);
    const ids = events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort(compareIds)).toEqual(ids);
    const statuses = events.filter((event) => event.type === 'task.updated').map((event) => event.data.status);
    expect(statuses).toEqual(['QUEUED', 'CLAIMED', 'PROCESSING', 'SUCCESS']);
    expect(events.at(-1)).toMatchObject({ type: 'task.updated', data: { status: 'SUCCESS' } });
    const chunks = events.filter((event) => event.type === 'task.log').map((event) => event.data);
    expect(chunks.map((chunk) => chunk.seq)).toEqual(chunks.map((_, i) => i + 1));
    const text = (stream: string) =>
      chunks
        .filter((chunk) => chunk.stream === stream)
        .map((chunk) => chunk.chunk)
        .join('');
    expect(text('STDOUT')).toBe('out-1\nout-2\nout-3\n');
    expect(text('STDERR')).toBe('err-1\nerr-2\nerr-3\n');
    // The live log holds exactly what the task's log holds.
    const logs = (await platform.request('GET', `/v1/tasks/${created.body.id}/logs`, { token: org.token })).body.items;
    expect(chunks.map(({ seq, stream, chunk }) => ({ seq, stream, chunk }))).toEqual(
      logs.map(({ seq, stream, chunk }: any) => ({ seq, stream, chunk })),
    );

    // Until unsubscribed: once the ack is in, the task's later events come only through the subscription still held.
    const sleeper = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 2000 } } })).body
      .id;
    const all = await client.subscribe({ topic: 'tasks', filter: { status: 'SUCCESS', type: 'sleep' } });
    const watch = await client.subscribe({ topic: 'task', id: sleeper });
    expect(await client.unsubscribe(watch.subscription)).toEqual({ ok: true });
    const unsubscribedAt = client.events.length;
    const [done] = await client.waitForEvents(1, (event) => event.data.id === sleeper && event.data.status === 'SUCCESS', 20_000);
    expect(done.subscriptions).toEqual([all.subscription]);
    expect(client.events.slice(unsubscribedAt).filter((event) => event.subscriptions.includes(watch.subscription))).toEqual([]);
  });

  it('filters the tasks topic by status and type', async () => {
    const client = await connect();
    const answer = await client.subscribe({ topic: 'tasks', filter: { status: 'SUCCESS', type: 'noop' } });
    expect(answer).toMatchObject({ ok: true, snapshot: { items: expect.any(Array) } });
    const noop = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    const sleep = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 1 } } });
    await waitFor('the sleep task to succeed', async () =>
      (await platform.request('GET', `/v1/tasks/${sleep.body.id}`, { token: org.token })).body.status === 'SUCCESS' ? true : undefined,
    );
    // Every event of both tasks is in the stream now; a later matching task's event drains the socket up to it.
    const marker = await waitForBarrier(
      'the tasks topic',
      async () => platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } }),
      () => client.events.find((event) => event.data.status === 'SUCCESS' && event.data.id !== noop.body.id),
      20_000,
    );
    expect(client.events.map((event) => [event.data.id, event.data.type, event.data.status])).toEqual([
      [noop.body.id, 'noop', 'SUCCESS'],
      [marker.data.id, 'noop', 'SUCCESS'],
    ]);
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
    await late.waitForEvents(3, (event) => created.includes(event.data.id) && event.data.status === 'QUEUED');
    await Promise.all(created.map((id) => platform.request('GET', `/v1/tasks/${id}`, { token: org.token })));
    // Drained: a task created now has its QUEUED event after every event of the three; once it is in, nothing is still on its way.
    const marker = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id;
    await late.waitForEvents(1, (event) => event.data.id === marker && event.data.status === 'QUEUED');
    const again = late.events.filter((event) => created.includes(event.data.id) && event.data.status === 'QUEUED');
    expect(again.map((event) => event.id)).toEqual(live.map((event) => event.id));
    const ids = late.events.map((event) => event.id);
    expect([...ids].sort(compareIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);

    // Past retention: once the stream is trimmed beyond a position, replaying from it is refused.
    await platform.api.get(RedisConnection).client.xtrim(`${platform.redis.prefix}:{org:${org.id}}:events`, 'MAXLEN', 1);
    expect(await late.subscribe({ topic: 'tasks', since: first.position })).toMatchObject({ ok: false, error: 'since_expired' });
  });

  it('sends INSERT, UPDATE and DELETE made with plain SQL to a client subscribed to that table, filtered by column', async () => {
    await waitForRelay();
    const client = await connect();
    const answer = await client.subscribe({ topic: 'table', id: 'rt_items', filter: { key: 'wanted' } });
    expect(answer).toMatchObject({ ok: true, snapshot: { rows: [], truncated: false } });
    await platform.queryOrgDatabase(org.slug, `INSERT INTO public.rt_items (key, value) VALUES ('ignored', '1'), ('wanted', '{"a": 1}')`);
    const [event] = await client.waitForEvents(1, undefined, 20_000);
    expect(event).toMatchObject({
      org: org.id,
      topic: 'table:rt_items',
      type: 'row.inserted',
      data: {
        schema: 'public',
        table: 'rt_items',
        record: { key: 'wanted', value: { a: 1 } },
        old_record: null,
        lsn: expect.any(String),
      },
    });
    await platform.queryOrgDatabase(org.slug, `UPDATE public.rt_items SET note = 'changed' WHERE key IN ('ignored', 'wanted')`);
    const [updated] = await client.waitForEvents(1, (e) => e.type === 'row.updated', 20_000);
    expect(updated).toMatchObject({ topic: 'table:rt_items', data: { table: 'rt_items', record: { key: 'wanted', note: 'changed' } } });
    await platform.queryOrgDatabase(org.slug, `DELETE FROM public.rt_items WHERE key IN ('ignored', 'wanted')`);
    const [deleted] = await client.waitForEvents(1, (e) => e.type === 'row.deleted', 20_000);
    expect(deleted.data).toMatchObject({ table: 'rt_items', record: null, old_record: { key: 'wanted' } });
    // Drained through the relay: a later matching row arrives after everything committed before it.
    await platform.queryOrgDatabase(org.slug, `INSERT INTO public.rt_items (key, value) VALUES ('wanted', '2')`);
    await client.waitForEvents(2, (e) => e.type === 'row.inserted', 20_000);
    expect(client.events.map((e) => e.type)).toEqual(['row.inserted', 'row.updated', 'row.deleted', 'row.inserted']);
    expect(client.events.filter((e) => e.data.record?.key === 'ignored' || e.data.old_record?.key === 'ignored')).toEqual([]);
  });

  it('leaves no gap between the snapshot and the first delta while rows are being written', async () => {
    await waitForRelay();
    const ROWS = 200;
    const { database } = (await platform.request('GET', `/v1/admin/orgs/${org.slug}`)).body.instance;
    const writerClient = new pg.Client({
      connectionString: Object.assign(new URL(platform.database.url), { pathname: `/${database}` }).toString(),
    });
    await writerClient.connect();
    let written = 0;
    const writer = (async () => {
      try {
        for (; written < ROWS; written++) {
          await writerClient.query(`INSERT INTO public.rt_items (key, value, note) VALUES ($1, '0', 'race')`, [`race-${written}`]);
        }
      } finally {
        await writerClient.end();
      }
    })();
    await waitFor('some rows to be written', () => (written > 20 ? true : undefined));
    const client = await connect();
    const answer = await client.subscribe({ topic: 'table', id: 'rt_items', filter: { note: 'race' } });
    expect(answer.ok).toBe(true);
    expect(answer.snapshot.truncated).toBe(false);
    await writer;
    await waitForBarrier(
      'the WAL relay and the socket',
      () => platform.queryOrgDatabase(org.slug, `INSERT INTO public.rt_items (key, value, note) VALUES ('race-end', '0', 'race')`),
      () => client.events.find((event) => event.data.record?.key === 'race-end'),
      20_000,
    );
    const seen = new Set([...answer.snapshot.rows.map((row: any) => row.key), ...client.events.map((event) => event.data.record.key)]);
    const missing = Array.from({ length: ROWS }, (_, i) => `race-${i}`).filter((key) => !seen.has(key));
    expect(missing).toEqual([]);
    expect(answer.snapshot.rows.length).toBeGreaterThan(0);
  });

  it('sends live and replayed row events only for rows the row-level security of the caller shows it, DELETEs judged on their old row', async () => {
    await waitForRelay();
    // REPLICA IDENTITY FULL: a DELETE carries the whole old row, so policies on any column judge it exactly.
    await platform.queryOrgDatabase(
      org.slug,
      `CREATE TABLE public.rt_notes (id int PRIMARY KEY, audience text NOT NULL, body text);
       ALTER TABLE public.rt_notes REPLICA IDENTITY FULL;
       ALTER TABLE public.rt_notes ENABLE ROW LEVEL SECURITY;
       GRANT SELECT ON public.rt_notes TO authenticated;
       CREATE POLICY everyone ON public.rt_notes FOR SELECT TO authenticated USING (audience = 'all');
       CREATE POLICY members ON public.rt_notes FOR SELECT TO authenticated
         USING (audience = 'members' AND (current_setting('request.jwt.claims', true)::jsonb ->> 'app_role') IN ('member', 'admin'));
       CREATE POLICY admins ON public.rt_notes FOR SELECT TO authenticated
         USING ((current_setting('request.jwt.claims', true)::jsonb ->> 'app_role') = 'admin')`,
    );
    const viewerToken = (await createToken(platform.baseUrl, org.token, 'viewer', 'rls-live-viewer')).token;
    const memberToken = (await createToken(platform.baseUrl, org.token, 'member', 'rls-live-member')).token;
    const [viewer, member, admin] = [await connect(viewerToken), await connect(memberToken), await connect(org.token)];
    const answers = await Promise.all([viewer, member, admin].map((client) => client.subscribe({ topic: 'table', id: 'rt_notes' })));
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, snapshot: { rows: [], truncated: false } });

    const write = (statement: string) => platform.queryOrgDatabase(org.slug, statement);
    await write(`INSERT INTO public.rt_notes VALUES (1, 'all', 'hello'), (2, 'members', 'team'), (3, 'admins', 'secret')`);
    await write(`UPDATE public.rt_notes SET body = body || '!'`);
    await write(`UPDATE public.rt_notes SET audience = 'all' WHERE id = 3`);
    await write(`UPDATE public.rt_notes SET audience = 'admins', body = 'hidden again' WHERE id = 1`);
    await write(`DELETE FROM public.rt_notes WHERE id = 2`);
    await write(`DELETE FROM public.rt_notes WHERE id = 1`);
    await write(`DELETE FROM public.rt_notes WHERE id = 3`);
    // Drained: a row everyone may see, written last, comes after everything above on each subscription's ordered path.
    const marker = (event: any) => event.type === 'row.inserted' && event.data.record.id === 100;
    await waitForBarrier(
      'the table topic of all three callers',
      () => write(`INSERT INTO public.rt_notes VALUES (100, 'all', 'marker')`),
      () => ([viewer, member, admin].every((client) => client.events.some(marker)) ? true : undefined),
    );
    const seen = (client: TestSocket) =>
      client.events.map(
        (event) =>
          `${event.type} ${event.data.record?.id ?? event.data.old_record.id} ${event.data.record?.audience ?? event.data.old_record.audience}`,
      );
    expect(seen(admin)).toEqual([
      'row.inserted 1 all',
      'row.inserted 2 members',
      'row.inserted 3 admins',
      'row.updated 1 all',
      'row.updated 2 members',
      'row.updated 3 admins',
      'row.updated 3 all',
      'row.updated 1 admins',
      'row.deleted 2 members',
      'row.deleted 1 admins',
      'row.deleted 3 all',
      'row.inserted 100 all',
    ]);
    expect(seen(member)).toEqual([
      'row.inserted 1 all',
      'row.inserted 2 members',
      'row.updated 1 all',
      'row.updated 2 members',
      'row.updated 3 all',
      'row.deleted 2 members',
      'row.deleted 3 all',
      'row.inserted 100 all',
    ]);
    expect(seen(viewer)).toEqual([
      'row.inserted 1 all',
      'row.updated 1 all',
      'row.updated 3 all',
      'row.deleted 3 all',
      'row.inserted 100 all',
    ]);
    expect(viewer.events.find((event) => event.type === 'row.deleted').data.old_record).toEqual({
      id: 3,
      audience: 'all',
      body: 'secret!',
    });
    expect(JSON.stringify(viewer.events)).not.toMatch(/team|hidden again/);

    // Replayed from the same position, a viewer gets exactly the same rows, none more.
    const late = await connect(viewerToken);
    expect(await late.subscribe({ topic: 'table', id: 'rt_notes', since: answers[0].position })).toMatchObject({ ok: true });
    await waitForBarrier(
      'the replaying and the live viewer',
      () => write(`INSERT INTO public.rt_notes VALUES (101, 'all', 'marker')`),
      () => ([late, viewer].every((client) => client.events.some((event) => event.data.record?.id === 101)) ? true : undefined),
    );
    expect(seen(late)).toEqual(seen(viewer));
    expect(seen(late).at(-1)).toBe('row.inserted 101 all');
    expect(late.events.map((event) => event.id)).toEqual(viewer.events.map((event) => event.id));
  });

  it('hands out a position on an empty stream from which a reconnect replays, not since_expired', async () => {
    const fresh = await platform.createOrg();
    const first = await connect(fresh.token);
    const answer = await first.subscribe({ topic: 'tasks' });
    expect(answer).toMatchObject({ ok: true, position: '0-0' });
    first.close();
    const created = (await platform.request('POST', '/v1/tasks', { token: fresh.token, body: { type: 'noop' } })).body.id;
    const again = await connect(fresh.token);
    expect(await again.subscribe({ topic: 'tasks', since: answer.position })).toMatchObject({ ok: true });
    await again.waitForEvents(1, (event) => event.data.id === created && event.data.status === 'QUEUED');
    // Once events before a position really are trimmed, it is refused.
    const stream = `${platform.redis.prefix}:{org:${fresh.id}}:events`;
    await waitFor('the task to succeed', async () =>
      (await platform.request('GET', `/v1/tasks/${created}`, { token: fresh.token })).body.status === 'SUCCESS' ? true : undefined,
    );
    const connection = platform.api.get(RedisConnection).client;
    const [[oldest]] = (await connection.xrange(stream, '-', '+', 'COUNT', 1)) as [string, string[]][];
    await connection.xdel(stream, oldest!);
    expect(await again.subscribe({ topic: 'tasks', since: answer.position })).toMatchObject({ ok: false, error: 'since_expired' });
  });

  it('streams worker.updated as a worker process starts, drains and stops', async () => {
    const client = await connect();
    expect((await client.subscribe({ topic: 'worker' })).ok).toBe(true);
    const worker = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
    try {
      const [online] = await client.waitForEvents(
        1,
        (event) => event.type === 'worker.updated' && event.data.pid === worker.child.pid && event.data.status === 'ONLINE',
        30_000,
      );
      expect(online).toMatchObject({ topic: `worker:${online.data.id}`, org: 'platform' });
      await worker.waitForOutput(/worker started/);
      worker.child.kill('SIGTERM');
      expect(await worker.waitForExit(30_000)).toBe(0);
      await client.waitForEvents(1, (event) => event.data.id === online.data.id && event.data.status === 'OFFLINE', 20_000);
      const statuses = client.events.filter((event) => event.data.id === online.data.id).map((event) => event.data.status);
      expect(statuses).toEqual(['ONLINE', 'DRAINING', 'OFFLINE']);
    } finally {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
  });
});

/** Orders Redis stream ids (`ms-seq`) numerically. */
function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt);
  const [bMs, bSeq] = b.split('-').map(BigInt);
  return aMs! === bMs! ? Number(aSeq! - bSeq!) : Number(aMs! - bMs!);
}
