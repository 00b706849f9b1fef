import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { findFreePort } from '#libs/runtime';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { createToken } from './operational-state-http.js';
import { connectRealtime } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

type Vsn = '1.0.0' | '2.0.0';
type Change = { eventType: string; new: Record<string, any>; old: Record<string, any>; commit_timestamp: string; table: string };

/**
 * Unmodified supabase-js clients against real API processes: the Supabase Realtime
 * protocol at /realtime/v1/websocket, both serializers, served from the org event streams.
 */
describe('Supabase Realtime protocol (supabase-js against real API processes)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  const apis: { process: PlatformProcess; url: string }[] = [];
  const clients: SupabaseClient[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'supabase-rt-'));

  const startApi = async () => {
    const port = await findFreePort();
    // Short slot leases: a killed process's presences end within seconds.
    const process = spawnPlatformProcess('api', {
      ...platform.env,
      PORT: String(port),
      REALTIME_RELAY_POLL_MS: '200',
      REALTIME_SLOT_TTL_MS: '3000',
    });
    await process.waitForOutput(/API listening on/);
    apis.push({ process, url: `http://127.0.0.1:${port}` });
    return apis.length - 1;
  };

  /** A supabase-js client exactly as an app makes one, with the `ws` transport Node 20 needs. */
  const supabase = (token: string, vsn: Vsn = '2.0.0', api = 0) => {
    const client = createClient(apis[api]!.url, token, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never, vsn } as never,
    });
    clients.push(client);
    return client;
  };

  /** Resolves once the channel is SUBSCRIBED; rejects with the server's reason on CHANNEL_ERROR. */
  const subscribed = (channel: RealtimeChannel) =>
    new Promise<RealtimeChannel>((resolve, reject) => {
      channel.subscribe((status, error) => {
        if (status === 'SUBSCRIBED') resolve(channel);
        else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') reject(error ?? new Error(status));
      });
    });

  const sql = (query: string, params: unknown[] = [], slug = org.slug) => platform.queryOrgDatabase(slug, query, params);

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200', TASK_SHELL_ALLOW: 'sh' } });
    [org, other] = [await platform.createOrg(), await platform.createOrg()];
    for (const slug of [org.slug, other.slug]) {
      await platform.queryOrgDatabase(
        slug,
        `CREATE TABLE public.items (id int PRIMARY KEY, name text, score int, tag text, flag boolean);
         GRANT SELECT ON public.items TO authenticated`,
      );
    }
    // Private channels as in Supabase: realtime.topic() is the channel being joined, the caller's claims are auth.jwt().
    await sql(`CREATE POLICY rooms_read ON realtime.messages FOR SELECT TO authenticated
                 USING (realtime.topic() LIKE 'room-%' OR realtime.topic() LIKE 'ledger%');
               CREATE POLICY rooms_write ON realtime.messages FOR INSERT TO authenticated
                 WITH CHECK (realtime.topic() LIKE 'room-%' AND extension = 'broadcast' AND platform.can_write())`);
    await Promise.all([startApi(), startApi()]);
    await waitFor(
      'the relays to stream both org databases',
      async () => {
        const active = await Promise.all(
          [org.slug, other.slug].map(async (slug) => (await sql('SELECT active FROM pg_replication_slots', [], slug))[0]?.active),
        );
        return active.every(Boolean) ? true : undefined;
      },
      30_000,
    );
  }, 120_000);
  afterEach(async () => {
    await Promise.all(
      clients.splice(0).map(async (client) => {
        await client.removeAllChannels();
        client.realtime.disconnect();
      }),
    );
  });
  afterAll(async () => {
    for (const api of apis) {
      api.process.child.kill('SIGTERM');
      await api.process.waitForExit(20_000);
    }
    await platform.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe.each(['1.0.0', '2.0.0'] as Vsn[])('vsn %s', (vsn) => {
    it('delivers INSERT, UPDATE and DELETE of a user table created by plain SQL, after the join reply and the system message', async () => {
      const table = `crud_${vsn.replaceAll('.', '_')}`;
      await sql(`CREATE TABLE public.${table} (id int PRIMARY KEY, note text); GRANT SELECT ON public.${table} TO authenticated`);
      const client = supabase(org.token, vsn);
      const changes: Change[] = [];
      const system: unknown[] = [];
      const channel = client
        .channel(`crud-${vsn}`)
        .on('postgres_changes', { event: '*', schema: 'public', table }, (payload) => changes.push(payload as never))
        .on('system', {}, (payload) => system.push(payload));
      await subscribed(channel);
      await waitFor('the system message', () => (system.length ? true : undefined));
      expect(system[0]).toMatchObject({ extension: 'postgres_changes', message: 'Subscribed to PostgreSQL', status: 'ok' });
      await sql(`INSERT INTO public.${table} VALUES (1, 'one')`);
      await sql(`UPDATE public.${table} SET note = 'uno' WHERE id = 1`);
      await sql(`DELETE FROM public.${table} WHERE id = 1`);
      await waitFor('three changes', () => (changes.length >= 3 ? true : undefined));
      expect(changes.map((change) => [change.eventType, change.new, change.old])).toEqual([
        ['INSERT', { id: 1, note: 'one' }, {}],
        ['UPDATE', { id: 1, note: 'uno' }, { id: 1 }],
        ['DELETE', {}, { id: 1 }],
      ]);
      expect(changes.every((change) => change.table === table && !Number.isNaN(Date.parse(change.commit_timestamp)))).toBe(true);
    });

    it("streams a running shell task's log lines to the live-job-logs pattern (task_logs, task_id=eq.<id>) and its transitions to tasks", async () => {
      const gate = join(scratch, `gate-${vsn}`);
      const script = `while [ ! -f ${gate} ]; do sleep 0.05; done; echo line-1; echo line-2 >&2; echo line-3`;
      const created = await platform.request('POST', '/v1/tasks', {
        token: org.token,
        body: { type: 'shell', params: { command: 'sh', args: ['-c', script] } },
      });
      expect(created.status).toBe(201);
      const id: string = created.body.id;
      const lines: Change[] = [];
      const statuses: string[] = [];
      const client = supabase(org.token, vsn);
      await subscribed(
        client
          .channel(`job-logs-${id}`)
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'task_logs', filter: `task_id=eq.${id}` }, (payload) =>
            lines.push(payload as never),
          )
          .on('postgres_changes', { event: 'UPDATE', schema: 'public', table: 'tasks', filter: `id=eq.${id}` }, (payload) =>
            statuses.push((payload as never as Change).new.status),
          ),
      );
      writeFileSync(gate, '');
      await waitFor('the task to finish', () => (statuses.includes('SUCCESS') ? true : undefined), 30_000);
      const text = lines.map((line) => line.new.chunk).join('');
      expect(text).toMatch(/line-1[\s\S]*line-3/);
      expect(text).toContain('line-2');
      expect(lines.every((line) => line.new.task_id === id && typeof line.new.seq === 'number')).toBe(true);
      expect(lines.map((line) => line.new.seq)).toEqual([...lines.map((line) => line.new.seq)].sort((a, b) => a - b));
      expect(statuses.at(-1)).toBe('SUCCESS');
      expect(existsSync(gate)).toBe(true);
    });

    it('broadcasts with self on and off and ack, over the socket, the REST endpoint and httpSend', async () => {
      const [a, b] = [supabase(org.token, vsn), supabase(org.token, vsn, 1)];
      const heardA: unknown[] = [];
      const heardB: unknown[] = [];
      const channelA = await subscribed(
        a
          .channel(`room-${vsn}`, { config: { broadcast: { self: true, ack: true } } })
          .on('broadcast', { event: 'say' }, ({ payload }) => heardA.push(payload)),
      );
      const channelB = await subscribed(b.channel(`room-${vsn}`).on('broadcast', { event: 'say' }, ({ payload }) => heardB.push(payload)));
      expect(await channelA.send({ type: 'broadcast', event: 'say', payload: { n: 1 } })).toBe('ok');
      const rest = await fetch(`${apis[0]!.url}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.token}`, apikey: org.token, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ topic: `room-${vsn}`, event: 'say', payload: { n: 2 } }] }),
      });
      expect(rest.status).toBe(202);
      expect(await channelB.httpSend('say', { n: 3 })).toEqual({ success: true });
      // B has self off: its own message reaches A only; A's next one (self on) is the barrier for both.
      expect(await channelB.send({ type: 'broadcast', event: 'say', payload: { n: 4 } })).toBe('ok');
      await waitFor("B's message on A", () => (heardA.length >= 4 ? true : undefined));
      expect(await channelA.send({ type: 'broadcast', event: 'say', payload: { n: 5 } })).toBe('ok');
      await waitFor('the barrier on both clients', () => (heardA.length >= 5 && heardB.some((p: any) => p.n === 5) ? true : undefined));
      expect(heardA).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
      expect(heardB).toEqual([1, 2, 3, 5].map((n) => ({ n })));
    });
  });

  it('honours every filter operator, not. and AND, filters DELETE on its replica identity, and refuses bad filters clearly', async () => {
    const filters: Record<string, string> = {
      eq: 'name=eq.alpha',
      neq: 'name=neq.alpha',
      lt: 'score=lt.20',
      lte: 'score=lte.20',
      gt: 'score=gt.20',
      gte: 'score=gte.20',
      in: 'id=in.(2,4,6)',
      like: 'name=like.al*',
      ilike: 'name=ilike.%ETA',
      isNull: 'tag=is.null',
      isTrue: 'flag=is.true',
      notEq: 'name=not.eq.alpha',
      notIn: 'id=not.in.(1,2)',
      and: 'score=gte.20,tag=eq.x',
    };
    const rows = [
      { id: 1, name: 'alpha', score: 10, tag: 'x', flag: true },
      { id: 2, name: 'beta', score: 20, tag: null, flag: false },
      { id: 3, name: 'gamma', score: 30, tag: 'x', flag: null },
      { id: 4, name: 'ALPHABET', score: 40, tag: 'y', flag: true },
      { id: 5, name: 'zeta', score: 20, tag: 'x', flag: true },
    ];
    const expected: Record<string, number[]> = {
      eq: [1],
      neq: [2, 3, 4, 5],
      lt: [1],
      lte: [1, 2, 5],
      gt: [3, 4],
      gte: [2, 3, 4, 5],
      in: [2, 4],
      like: [1],
      ilike: [2, 5],
      isNull: [2],
      isTrue: [1, 4, 5],
      notEq: [2, 3, 4, 5],
      notIn: [3, 4, 5],
      and: [3, 5],
    };
    const got: Record<string, number[]> = Object.fromEntries(Object.keys(filters).map((name) => [name, []]));
    const deleted: number[] = [];
    let channel = supabase(org.token).channel('filters');
    for (const [name, filter] of Object.entries(filters)) {
      channel = channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'items', filter }, (payload) =>
        got[name]!.push((payload as never as Change).new.id),
      );
    }
    channel = channel.on('postgres_changes', { event: 'DELETE', schema: 'public', table: 'items', filter: 'id=in.(2,3)' }, (payload) =>
      deleted.push((payload as never as Change).old.id),
    );
    await subscribed(channel);
    for (const row of rows) {
      await sql('INSERT INTO public.items VALUES ($1, $2, $3, $4, $5)', [row.id, row.name, row.score, row.tag, row.flag]);
    }
    await sql('DELETE FROM public.items WHERE id IN (1, 2, 3)');
    // Every row matches neq or eq, and the deletes come after the inserts on the same ordered path.
    await waitFor('the filtered deletes', () => (deleted.length >= 2 ? true : undefined));
    expect(got).toEqual(expected);
    expect(deleted).toEqual([2, 3]);

    const refusals = [
      ['items', 'name=between.1', /unknown operator "between"/],
      ['items', 'id=in.(' + Array.from({ length: 101 }, (_, i) => i).join(',') + ')', /at most 100 values/],
      ['items', 'nope=eq.1', /has no column nope/],
      ['items', 'tag=is.maybe', /is on tag takes null, true or false/],
      ['no_such_table', 'id=eq.1', /no table public.no_such_table/],
      ['secrets', undefined, /no table public.secrets/],
    ] as const;
    const client = supabase(org.token);
    for (const [index, [table, filter, reason]] of refusals.entries()) {
      await expect(
        subscribed(client.channel(`bad-${index}`).on('postgres_changes', { event: '*', schema: 'public', table, filter }, () => undefined)),
      ).rejects.toThrow(reason);
    }
    await expect(
      subscribed(
        client
          .channel('bad-delete')
          .on('postgres_changes', { event: 'DELETE', schema: 'public', table: 'items', filter: 'name=eq.x' }, () => undefined),
      ),
    ).rejects.toThrow(/a DELETE carries only the replica identity of items \(id\)/);
    // The connection stays usable after refusals.
    await subscribed(
      client.channel('after-refusals').on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, () => undefined),
    );
  });

  it("never gives org B's client org A's changes", async () => {
    const seenByB: Change[] = [];
    const seenByA: Change[] = [];
    await subscribed(
      supabase(other.token)
        .channel('isolation')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, (p) => seenByB.push(p as never)),
    );
    await subscribed(
      supabase(org.token, '2.0.0', 1)
        .channel('isolation')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, (p) => seenByA.push(p as never)),
    );
    for (let id = 100; id < 110; id++) await sql('INSERT INTO public.items (id, name) VALUES ($1, $2)', [id, 'org-a']);
    await waitFor("org A's client to get its rows", () => (seenByA.length >= 10 ? true : undefined));
    await sql(`INSERT INTO public.items (id, name) VALUES (1000, 'marker')`, [], other.slug);
    await waitFor("org B's marker", () => (seenByB.length ? true : undefined));
    expect(seenByB.map((change) => change.new.name)).toEqual(['marker']);
  });

  it('gives a viewer only the rows row-level security shows it, DELETEs judged on their old row', async () => {
    await sql(`CREATE TABLE public.notes (id int PRIMARY KEY, audience text, body text);
      ALTER TABLE public.notes REPLICA IDENTITY FULL;
      ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
      GRANT SELECT ON public.notes TO authenticated;
      CREATE POLICY everyone_public ON public.notes FOR SELECT TO authenticated USING (audience = 'all');
      CREATE POLICY admins_all ON public.notes FOR SELECT TO authenticated
        USING ((current_setting('request.jwt.claims', true)::jsonb ->> 'app_role') = 'admin')`);
    const viewer = await createToken(apis[0]!.url, org.token, 'viewer', 'rls-viewer');
    const asViewer: Change[] = [];
    const asAdmin: Change[] = [];
    await subscribed(
      supabase(viewer.token)
        .channel('notes')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'notes' }, (p) => asViewer.push(p as never)),
    );
    await subscribed(
      supabase(org.token, '1.0.0', 1)
        .channel('notes')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'notes' }, (p) => asAdmin.push(p as never)),
    );
    await sql(`INSERT INTO public.notes VALUES (1, 'all', 'hello'), (2, 'admins', 'secret'), (3, 'all', 'world')`);
    await sql(`DELETE FROM public.notes WHERE id = 2`);
    await sql(`DELETE FROM public.notes WHERE id = 1`);
    await waitFor('the admin to see all five changes', () => (asAdmin.length >= 5 ? true : undefined));
    await waitFor('the viewer to see the public delete', () =>
      asViewer.some((change) => change.eventType === 'DELETE') ? true : undefined,
    );
    expect(asViewer.map((change) => [change.eventType, change.new.id ?? change.old.id])).toEqual([
      ['INSERT', 1],
      ['INSERT', 3],
      ['DELETE', 1],
    ]);
    expect(asViewer.find((change) => change.eventType === 'DELETE')!.old).toEqual({ id: 1, audience: 'all', body: 'hello' });
    expect(JSON.stringify(asViewer)).not.toContain('secret');
  });

  /**
   * 200 inserts into a fresh table; the client on `channel` drops off by `dropOff` once it has seen
   * some, the rest happen while it is away; then a client on the other API process rejoins with
   * replay.since = the last commit_timestamp the first one saw. Returns what each saw.
   */
  const missAndReplay = async (table: string, topic: string, dropOff: (client: SupabaseClient) => Promise<void>) => {
    await sql(`CREATE TABLE public.${table} (n int PRIMARY KEY); GRANT SELECT ON public.${table} TO authenticated`);
    const first: Change[] = [];
    const client = supabase(org.token);
    await subscribed(
      client
        .channel(topic, { config: { private: true } })
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table }, (p) => first.push(p as never)),
    );
    for (let n = 1; n <= 200; n++) {
      await sql(`INSERT INTO public.${table} VALUES ($1)`, [n]);
      if (n === 60) await waitFor('some changes', () => (first.length >= 20 ? true : undefined));
      if (n === 60) await dropOff(client);
    }
    const seen = first.map((change) => change.new.n as number);
    const since = Date.parse(first.at(-1)!.commit_timestamp);
    const second: Change[] = [];
    await subscribed(
      supabase(org.token, '1.0.0', 1)
        .channel(topic, { config: { private: true, broadcast: { replay: { since } } } })
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table }, (p) => second.push(p as never)),
    );
    await waitFor('the rejoined client to reach n = 200', () => (second.some((change) => change.new.n === 200) ? true : undefined));
    const replayed = second.map((change) => change.new.n as number);
    expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
    expect(new Set(replayed).size).toBe(replayed.length);
    expect([...new Set([...seen, ...replayed])].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    return { seen, since, second };
  };

  it('replays what a client missed during 200 changes after it left (removeAllChannels) and rejoins with replay.since = the last commit_timestamp it saw, repeating at most the changes of that millisecond', async () => {
    const { seen, since, second } = await missAndReplay('ledger', 'ledger', (client) => client.removeAllChannels().then(() => undefined));
    // supabase-js closes the channel as it sends phx_leave, so frames in flight when it left are dropped: since's millisecond replays inclusively.
    const again = second.filter((change) => seen.includes(change.new.n));
    expect(again.every((change) => Date.parse(change.commit_timestamp) === since)).toBe(true);
  }, 180_000);

  it('loses nothing when it leaves in the middle of one transaction, whose changes all share the since millisecond', async () => {
    await sql(`CREATE TABLE public.batch (n int PRIMARY KEY); GRANT SELECT ON public.batch TO authenticated`);
    const first: Change[] = [];
    const client = supabase(org.token);
    await subscribed(
      client
        .channel('ledger-batch', { config: { private: true } })
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'batch' }, (p) => first.push(p as never)),
    );
    await sql(`INSERT INTO public.batch SELECT generate_series(1, 2000)`);
    await waitFor('the first changes of the transaction', () => (first.length > 0 ? true : undefined));
    // supabase-js closes the channel as it sends phx_leave: frames still in flight are dropped.
    await client.removeAllChannels();
    const seen = first.map((change) => change.new.n as number);
    const since = Date.parse(first.at(-1)!.commit_timestamp);
    const second: Change[] = [];
    await subscribed(
      supabase(org.token, '1.0.0', 1)
        .channel('ledger-batch', { config: { private: true, broadcast: { replay: { since } } } })
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'batch' }, (p) => second.push(p as never)),
    );
    await waitFor('the rejoined client to reach n = 2000', () => (second.some((change) => change.new.n === 2000) ? true : undefined));
    const replayed = second.map((change) => change.new.n as number);
    expect(new Set(replayed).size).toBe(replayed.length);
    expect(new Set([...seen, ...replayed]).size).toBe(2000);
  }, 180_000);

  it('loses nothing when the connection was destroyed instead, repeating at most the changes of the since millisecond', async () => {
    const { seen, since, second } = await missAndReplay('ledger_cut', 'ledger-cut', async (client) => {
      (client.realtime as unknown as { socketAdapter: { socket: { conn: WebSocket } } }).socketAdapter.socket.conn.terminate();
      client.realtime.disconnect();
      await client.removeAllChannels();
    });
    // Frames in flight may not have arrived: the client's last millisecond is replayed inclusively.
    const again = second.filter((change) => seen.includes(change.new.n));
    expect(again.every((change) => Date.parse(change.commit_timestamp) === since)).toBe(true);
  }, 180_000);

  it('authorises private channels by the RLS policies on realtime.messages: SELECT to join, INSERT to broadcast and track', async () => {
    // The policies (beforeAll) let every caller read rooms and ledgers, and members write broadcasts to rooms.
    const viewer = await createToken(apis[0]!.url, org.token, 'viewer', 'private-viewer');
    const refusal = await subscribed(supabase(org.token).channel('vault', { config: { private: true } })).then(
      () => 'joined',
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/permissions to read from this Channel topic: vault/);

    const heardByMember: unknown[] = [];
    const heardByViewer: unknown[] = [];
    const heardInPublic: unknown[] = [];
    const member = await subscribed(
      supabase(org.token)
        .channel('room-private', { config: { private: true, broadcast: { self: true, ack: true } } })
        .on('broadcast', { event: 'say' }, ({ payload }) => heardByMember.push(payload)),
    );
    const reader = await subscribed(
      supabase(viewer.token, '1.0.0', 1)
        .channel('room-private', { config: { private: true, broadcast: { ack: true } } })
        .on('broadcast', { event: 'say' }, ({ payload }) => heardByViewer.push(payload)),
    );
    // The public channel of the same name is another channel: it never hears the private one.
    await subscribed(
      supabase(org.token)
        .channel('room-private')
        .on('broadcast', { event: 'say' }, ({ payload }) => heardInPublic.push(payload)),
    );
    expect(await reader.send({ type: 'broadcast', event: 'say', payload: { from: 'viewer' } })).toBe('error');
    const track = await reader.track({ online: true });
    expect(track).toBe('error');
    expect(await member.send({ type: 'broadcast', event: 'say', payload: { from: 'member' } })).toBe('ok');
    await waitFor('the member broadcast on both private clients', () =>
      heardByMember.length >= 1 && heardByViewer.length >= 1 ? true : undefined,
    );
    const forbidden = await fetch(`${apis[0]!.url}/realtime/v1/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer.token}`, apikey: viewer.token, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ topic: 'room-private', event: 'say', payload: { from: 'rest' }, private: true }] }),
    });
    expect(forbidden.status).toBe(403);
    // A barrier on the public channel: once it hears its own, it would have heard the private one before it.
    const publicSender = supabase(org.token, '2.0.0', 1).channel('room-private', { config: { broadcast: { ack: true } } });
    await subscribed(publicSender);
    expect(await publicSender.send({ type: 'broadcast', event: 'say', payload: { from: 'public' } })).toBe('ok');
    await waitFor('the public broadcast', () => (heardInPublic.length >= 1 ? true : undefined));
    expect(heardInPublic).toEqual([{ from: 'public' }]);
    expect(heardByMember).toEqual([{ from: 'member' }]);
    expect(heardByViewer).toEqual([{ from: 'member' }]);
  });

  it('keeps presence consistent across two API processes', async () => {
    const [a, b] = [supabase(org.token, '2.0.0', 0), supabase(org.token, '1.0.0', 1)];
    const channelA = a.channel('lobby', { config: { presence: { key: 'alice' } } }).on('presence', { event: 'sync' }, () => undefined);
    const channelB = b.channel('lobby', { config: { presence: { key: 'bob' } } }).on('presence', { event: 'sync' }, () => undefined);
    await subscribed(channelA);
    await subscribed(channelB);
    expect(await channelA.track({ mood: 'happy' })).toBe('ok');
    expect(await channelB.track({ mood: 'busy' })).toBe('ok');
    const keysOf = (channel: RealtimeChannel) => Object.keys(channel.presenceState()).sort().join(',');
    await waitFor('both presences on both processes', () =>
      keysOf(channelA) === 'alice,bob' && keysOf(channelB) === 'alice,bob' ? true : undefined,
    );
    expect(channelB.presenceState().alice).toEqual([expect.objectContaining({ mood: 'happy' })]);
    await channelA.untrack();
    await waitFor('alice to leave on the other process', () => (keysOf(channelB) === 'bob' ? true : undefined));
    await a.removeAllChannels();
    await b.removeAllChannels();
  });

  it('ends the presences of an API process that died, with a leave on the processes that remain', async () => {
    const doomed = await startApi();
    const [a, b] = [supabase(org.token, '2.0.0', doomed), supabase(org.token, '1.0.0', 0)];
    const channelA = a.channel('wake', { config: { presence: { key: 'ghost' } } }).on('presence', { event: 'sync' }, () => undefined);
    const channelB = b.channel('wake', { config: { presence: { key: 'watcher' } } }).on('presence', { event: 'sync' }, () => undefined);
    const left: string[] = [];
    channelB.on('presence', { event: 'leave' }, ({ key }) => left.push(key));
    await subscribed(channelA);
    await subscribed(channelB);
    expect(await channelA.track({ at: 'doomed' })).toBe('ok');
    expect(await channelB.track({ at: 'survivor' })).toBe('ok');
    const keysOf = (channel: RealtimeChannel) => Object.keys(channel.presenceState()).sort().join(',');
    await waitFor('both presences', () => (keysOf(channelB) === 'ghost,watcher' ? true : undefined));
    const [{ process }] = apis.splice(doomed, 1);
    process.child.kill('SIGKILL');
    await process.waitForExit(20_000);
    await waitFor('the dead process presence to leave', () => (keysOf(channelB) === 'watcher' ? true : undefined), 30_000);
    expect(left).toEqual(['ghost']);
  });

  it('caps connections per token across API processes and protocols (REALTIME_SOCKETS_PER_TOKEN, Socket.IO sockets counted too) and frees a slot when a connection closes', async () => {
    const capped = await createToken(apis[0]!.url, org.token, 'viewer', 'capped');
    const open = (api: number) =>
      new Promise<WebSocket | { status: number; body: string }>((resolve) => {
        const socket = new WebSocket(`${apis[api]!.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=${capped.token}&vsn=1.0.0`);
        socket.on('open', () => resolve(socket));
        socket.on('unexpected-response', (request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => {
            resolve({ status: response.statusCode ?? 0, body });
            request.destroy();
          });
        });
        socket.on('error', () => undefined);
      });
    const held: WebSocket[] = [];
    // One cap for both protocols: a Socket.IO socket of the token holds one of its slots.
    const socketIo = await connectRealtime(apis[0]!.url, capped.token);
    try {
      // The default cap is 20, split over both processes and protocols.
      for (let i = 0; i < 19; i++) {
        const socket = await open(i % 2);
        expect(socket).toBeInstanceOf(WebSocket);
        held.push(socket as WebSocket);
      }
      expect(await open(0)).toEqual({ status: 429, body: expect.stringContaining('REALTIME_SOCKETS_PER_TOKEN') });
      await expect(connectRealtime(apis[1]!.url, capped.token)).rejects.toThrow();
      const closing = held.pop()!;
      await new Promise((resolve) => {
        closing.once('close', resolve);
        closing.close();
      });
      const freed = await waitFor('the freed slot', async () => {
        const socket = await open(1);
        return socket instanceof WebSocket ? socket : undefined;
      });
      held.push(freed);
      // The Socket.IO socket's slot, once given back, takes a Supabase connection.
      socketIo.close();
      const again = await waitFor('the freed slot', async () => {
        const socket = await open(1);
        return socket instanceof WebSocket ? socket : undefined;
      });
      held.push(again);
    } finally {
      socketIo.close();
      for (const socket of held) socket.close();
    }
  });

  it('refuses a bad apikey and a foreign access_token, closes a channel when its token expires or is switched to another, and accepts a refresh of the same token', async () => {
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${apis[0]!.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=plat_org_nope&vsn=2.0.0`);
      socket.on('unexpected-response', (request, response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      socket.on('error', () => undefined);
    });
    expect(refused).toBe(401);

    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const short = await platform.request('POST', '/v1/tokens', {
      token: org.token,
      body: { name: 'short-lived', role: 'viewer', expiresAt },
    });
    expect(short.status).toBe(201);
    const system: { status: string; message: string }[] = [];
    let closed = false;
    const channel = supabase(short.body.token)
      .channel('expiring')
      .on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, () => undefined)
      .on('system', {}, (payload) => system.push(payload));
    await new Promise<void>((resolve, reject) =>
      channel.subscribe((status, error) => {
        if (status === 'SUBSCRIBED') resolve();
        if (status === 'CLOSED') closed = true;
        if (status === 'CHANNEL_ERROR') reject(error);
      }),
    );
    await waitFor('the channel to close at expiry', () => (closed ? true : undefined), 15_000);
    expect(system.at(-1)).toMatchObject({ status: 'error', message: expect.stringMatching(/expired/) });

    // A join may not carry another org's token, and a refresh to another API token closes the channel.
    const elsewhere = supabase(org.token);
    await elsewhere.realtime.setAuth(other.token);
    await expect(
      subscribed(elsewhere.channel('foreign').on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, () => undefined)),
    ).rejects.toThrow(/another org's/);
    const switched = supabase(org.token);
    const switchedSystem: { status: string; message: string }[] = [];
    let switchedClosed = false;
    await new Promise<void>((resolve, reject) =>
      switched
        .channel('switched')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'items' }, () => undefined)
        .on('system', {}, (payload) => switchedSystem.push(payload))
        .subscribe((status, error) => {
          if (status === 'SUBSCRIBED') resolve();
          if (status === 'CLOSED') switchedClosed = true;
          if (status === 'CHANNEL_ERROR') reject(error);
        }),
    );
    const member = await createToken(apis[0]!.url, org.token, 'member', 'switch-target');
    await switched.realtime.setAuth(member.token);
    await waitFor('the channel to close on a token switch', () => (switchedClosed ? true : undefined));
    expect(switchedSystem.at(-1)).toMatchObject({ status: 'error', message: expect.stringMatching(/another API token/) });

    const client = supabase(org.token);
    const changes: Change[] = [];
    const kept = await subscribed(
      client
        .channel('refreshed')
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'items' }, (p) => changes.push(p as never)),
    );
    const session = await platform.request('POST', '/v1/auth/session', { token: org.token });
    await client.realtime.setAuth(session.body.access_token);
    await sql(`INSERT INTO public.items (id, name) VALUES (5000, 'after-refresh')`);
    await waitFor('a change after the refresh', () => (changes.length ? true : undefined));
    expect(kept.state).toBe('joined');
  });
});
