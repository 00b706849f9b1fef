import { PLATFORM_OWNED_TABLES } from '#libs/contracts';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** A tenant sending what no client of ours would: every answer is a clear refusal, never a 500 or `internal`. */
describe('hostile input from a tenant', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        REALTIME_SOCKETS_PER_TOKEN: '3',
        REALTIME_SOCKETS_PER_ORG: '5',
        REALTIME_SUBSCRIPTIONS_PER_ORG: '150',
        REALTIME_SNAPSHOT_MAX_BYTES: '65536',
      },
    });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  const connect = async (token = org.token) => {
    const socket = await connectRealtime(platform.baseUrl, token);
    sockets.push(socket);
    return socket;
  };

  it('answers 400 to a log position past any bigint', async () => {
    const task = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body;
    const answer = await platform.request('GET', `/v1/tasks/${task.id}/logs?after=99999999999999999999`, { token: org.token });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toEqual([expect.stringContaining('after')]);
  });

  it.each(['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty'])(
    'answers invalid_payload to a realtime filter keyed %s, and 400 to such a key in a body',
    async (key) => {
      const socket = await connect();
      const filter = JSON.parse(`{ ${JSON.stringify(key)}: "x" }`) as object;
      for (const topic of ['tasks', 'table', 'resource']) {
        const answer = await socket.subscribe({ topic, ...(topic === 'table' ? { id: 'anything' } : {}), filter });
        expect(answer).toMatchObject({ ok: false, error: 'invalid_payload', message: `filter.${key} is not an allowed key` });
      }
      socket.close();
      const body = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop', params: filter } });
      expect(body.status).toBe(400);
      expect(body.body.message).toEqual([`params.${key} is not an allowed key`]);
    },
  );

  it('refuses every platform table on the table topic as absent, and still serves an org table', async () => {
    await platform.queryOrgDatabase(org.slug, 'CREATE TABLE public.notes (id int PRIMARY KEY, body text)');
    await platform.queryOrgDatabase(org.slug, 'GRANT SELECT ON public.notes TO authenticated');
    await platform.request('POST', '/v1/webhooks', {
      token: org.token,
      body: { url: 'https://hooks.example.com/x', events: ['task.failed'], secret: 's'.repeat(32) },
    });
    const socket = await connect();
    for (const table of PLATFORM_OWNED_TABLES) {
      const answer = await socket.subscribe({ topic: 'table', id: table });
      expect(answer).toEqual({ ok: false, error: 'not_found', message: `no table ${table}` });
    }
    expect(await socket.subscribe({ topic: 'table', id: 'WEBHOOKS' })).toMatchObject({ ok: false, error: 'not_found' });
    expect(await socket.subscribe({ topic: 'table', id: 'notes' })).toMatchObject({ ok: true, snapshot: { rows: [], truncated: false } });
    socket.close();
  });

  it('keeps 3,000 subscribes sent at once on one socket at REALTIME_SUBSCRIPTIONS_PER_SOCKET, naming the cap', async () => {
    const fresh = await platform.createOrg();
    const socket = await connect(fresh.token);
    // One ack deadline for the whole burst: the client alone takes seconds to send and decode 3,000 packets on a busy machine.
    const answers = await Promise.all(
      Array.from({ length: 3000 }, () => socket.socket.timeout(60_000).emitWithAck('subscribe', { topic: 'worker' })),
    );
    const accepted = answers.filter((answer) => answer.ok);
    expect(accepted).toHaveLength(100);
    const refused = answers.filter((answer) => !answer.ok);
    expect(refused).toHaveLength(2900);
    for (const answer of refused) expect(answer).toMatchObject({ error: 'limit_exceeded', limit: 'REALTIME_SUBSCRIPTIONS_PER_SOCKET' });
    // The slots are real: one given back is one to take again, and no more.
    expect(await socket.unsubscribe(accepted[0].subscription)).toEqual({ ok: true });
    expect(await socket.subscribe({ topic: 'worker' })).toMatchObject({ ok: true });
    expect(await socket.subscribe({ topic: 'worker' })).toMatchObject({ ok: false, limit: 'REALTIME_SUBSCRIPTIONS_PER_SOCKET' });
    socket.close();
  });

  it('caps subscriptions over all sockets of an org at REALTIME_SUBSCRIPTIONS_PER_ORG', async () => {
    const fresh = await platform.createOrg();
    const first = await connect(fresh.token);
    const second = await connect(fresh.token);
    expect((await Promise.all(Array.from({ length: 100 }, () => first.subscribe({ topic: 'worker' })))).every((answer) => answer.ok)).toBe(
      true,
    );
    const answers = await Promise.all(Array.from({ length: 80 }, () => second.subscribe({ topic: 'worker' })));
    expect(answers.filter((answer) => answer.ok)).toHaveLength(50);
    for (const answer of answers.filter((candidate) => !candidate.ok)) {
      expect(answer).toMatchObject({ error: 'limit_exceeded', limit: 'REALTIME_SUBSCRIPTIONS_PER_ORG' });
    }
    first.close();
    // The closed socket's 100 are given back: the second socket may now fill its own 100.
    await waitFor('the closed socket to give its subscriptions back', async () =>
      (await second.subscribe({ topic: 'worker' })).ok ? true : undefined,
    );
    second.close();
  });

  it('caps sockets per token and per org (REALTIME_SOCKETS_PER_TOKEN, REALTIME_SOCKETS_PER_ORG); a closed socket frees its slot', async () => {
    const fresh = await platform.createOrg();
    const viewer = (await platform.request('POST', '/v1/tokens', { token: fresh.token, body: { name: 'v', role: 'viewer' } })).body.token;
    const held = await Promise.all([1, 2, 3].map(() => connect(fresh.token)));
    const refusedByToken = await connect(fresh.token).catch((error: Error & { data?: unknown }) => error);
    expect(refusedByToken).toBeInstanceOf(Error);
    expect((refusedByToken as Error & { data?: unknown }).data).toEqual({ error: 'limit_exceeded', limit: 'REALTIME_SOCKETS_PER_TOKEN' });

    held.push(...(await Promise.all([1, 2].map(() => connect(viewer)))));
    const refusedByOrg = await connect(viewer).catch((error: Error & { data?: unknown }) => error);
    expect((refusedByOrg as Error & { data?: unknown }).data).toEqual({ error: 'limit_exceeded', limit: 'REALTIME_SOCKETS_PER_ORG' });
    expect((refusedByOrg as Error).message).toContain('REALTIME_SOCKETS_PER_ORG');

    held.shift()!.close();
    const again = await waitFor('a slot given back', () => connect(fresh.token).catch(() => undefined));
    expect(again.socket.connected).toBe(true);
    for (const socket of [...held, again]) socket.close();
  });

  it('refuses a snapshot larger than REALTIME_SNAPSHOT_MAX_BYTES, naming it', async () => {
    await platform.queryOrgDatabase(
      org.slug,
      "CREATE TABLE public.big_rows (id int PRIMARY KEY, body text); INSERT INTO public.big_rows VALUES (1, repeat('x', 100000))",
    );
    await platform.queryOrgDatabase(org.slug, 'GRANT SELECT ON public.big_rows TO authenticated');
    const socket = await connect();
    expect(await socket.subscribe({ topic: 'table', id: 'big_rows' })).toMatchObject({
      ok: false,
      error: 'limit_exceeded',
      limit: 'REALTIME_SNAPSHOT_MAX_BYTES',
    });
    expect(await socket.subscribe({ topic: 'table', id: 'big_rows', filter: { id: 2 } })).toMatchObject({
      ok: true,
      snapshot: { rows: [] },
    });
    socket.close();
  });

  it("pages a pool's environments over HTTP and in the pool snapshot", async () => {
    const pool = (await platform.request('POST', '/v1/pools', { token: org.token, body: { name: 'paged', kind: 'k' } })).body;
    const names = Array.from({ length: 105 }, (_, index) => `env-${String(index).padStart(3, '0')}`);
    const created = await Promise.all(
      names.map((name) => platform.request('POST', `/v1/pools/${pool.id}/environments`, { token: org.token, body: { name } })),
    );
    expect(created.filter((answer) => answer.status !== 201)).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=40&cursor=${cursor}` : '?limit=40';
      const page = await platform.request('GET', `/v1/pools/${pool.id}/environments${query}`, { token: org.token });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((environment: { name: string }) => environment.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(names);
    expect((await platform.request('GET', `/v1/pools/${pool.id}/environments?cursor=%%%`, { token: org.token })).status).toBe(400);
    expect((await platform.request('GET', `/v1/pools/${pool.id}/environments?limit=501`, { token: org.token })).status).toBe(400);

    const socket = await connect();
    const snapshot = (await socket.subscribe({ topic: 'resource', id: `pool:${pool.id}` })).snapshot;
    expect(snapshot.environments.map((environment: { name: string }) => environment.name)).toEqual(names.slice(0, 100));
    const rest = await platform.request('GET', `/v1/pools/${pool.id}/environments?cursor=${snapshot.nextCursor}`, { token: org.token });
    expect(rest.body).toEqual({ items: expect.any(Array), nextCursor: null });
    expect(rest.body.items.map((environment: { name: string }) => environment.name)).toEqual(names.slice(100));
    socket.close();
  });
});

describe('realtime connections refused for a socket cap, held (REALTIME_CONNECT_REFUSAL_HOLD_MS)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_SOCKETS_PER_TOKEN: '1', REALTIME_CONNECT_REFUSAL_HOLD_MS: '60000' } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('holds one refusal per REALTIME_SOCKETS_PER_TOKEN of the org and answers the others at once', async () => {
    const org = await platform.createOrg();
    const open = await connectRealtime(platform.baseUrl, org.token);
    const settled: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      void connectRealtime(platform.baseUrl, org.token).then(
        (socket) => {
          socket.close();
          settled.push('connected');
        },
        (error: Error & { data?: unknown }) => settled.push(error.data),
      );
    }
    // Whichever arrived first waits out its hold (a minute); the two after it are told at once.
    const told = await waitFor('two refusals answered at once', () => (settled.length >= 2 ? [...settled] : undefined));
    expect(told).toEqual([
      { error: 'limit_exceeded', limit: 'REALTIME_SOCKETS_PER_TOKEN' },
      { error: 'limit_exceeded', limit: 'REALTIME_SOCKETS_PER_TOKEN' },
    ]);
    open.close();
  });
});
