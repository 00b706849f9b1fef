import { createClient, type RealtimeChannel } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/**
 * An org with no published table has no relay: its first table is relayed from the relay
 * supervisor's next poll. A subscription to that table, answered before then, must still
 * get a change committed right after its answer. The poll is slow here (4 s), so a change
 * made at once falls before it: only a subscription that has the org's changes captured
 * before it is answered can see it.
 */
describe('realtime on a brand-new first table: nothing committed after the subscription is answered is lost', () => {
  let platform: TestPlatform;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '4000' } });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  /** A new org whose one table is made now: until then its database published nothing. */
  const orgWithNewTable = async (): Promise<CreatedOrg> => {
    const org = await platform.createOrg();
    await platform.queryOrgDatabase(
      org.slug,
      'CREATE TABLE public.firsts (n int PRIMARY KEY); GRANT SELECT ON public.firsts TO authenticated',
    );
    return org;
  };

  it('delivers to a Socket.IO table subscription the insert made right after its answer', async () => {
    const org = await orgWithNewTable();
    const client = await connectRealtime(platform.baseUrl, org.token);
    sockets.push(client);
    expect(await client.subscribe({ topic: 'table', id: 'firsts' })).toMatchObject({ ok: true, snapshot: { rows: [] } });
    await platform.queryOrgDatabase(org.slug, 'INSERT INTO public.firsts VALUES (1)');
    const [event] = await client.waitForEvents(1, (candidate) => candidate.type === 'row.inserted', 30_000);
    expect(event).toMatchObject({ topic: 'table:firsts', data: { record: { n: 1 } } });
  }, 60_000);

  it('delivers to a supabase-js postgres_changes channel the insert made right after it joined', async () => {
    const org = await orgWithNewTable();
    const client = createClient(platform.baseUrl, org.token, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never } as never,
    });
    try {
      const seen: { new: { n: number } }[] = [];
      await new Promise<RealtimeChannel>((resolve, reject) => {
        const channel = client
          .channel('firsts')
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'firsts' }, (change) => seen.push(change as never));
        channel.subscribe((status, error) => {
          if (status === 'SUBSCRIBED') resolve(channel);
          else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') reject(error ?? new Error(status));
        });
      });
      await platform.queryOrgDatabase(org.slug, 'INSERT INTO public.firsts VALUES (1)');
      await waitFor('the insert on the channel', () => (seen.length > 0 ? true : undefined), 30_000);
      expect(seen.map((change) => change.new.n)).toEqual([1]);
    } finally {
      await client.removeAllChannels();
    }
  }, 60_000);
});
