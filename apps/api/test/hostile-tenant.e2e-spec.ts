import { PLATFORM_OWNED_TABLES } from '#libs/contracts';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** A tenant sending what no client of ours would: every answer is a clear refusal, never a 500 or `internal`. */
describe('hostile input from a tenant', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform();
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
  });
});
