import { createClient, type RealtimeChannel } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** One sample's value from Prometheus text: the series named `name` whose labels include `labels`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const found = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('/metrics under load: every family of the platform’s own state moves (real API, worker processes, Redis, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let worker: PlatformProcess | undefined;
  const sockets: TestSocket[] = [];

  const startWorker = async () => {
    worker = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
    await worker.waitForOutput(/worker started/, 120_000).catch((error: Error) => {
      throw new Error(`${error.message}; it printed:\n${worker!.output().slice(-4000)}`);
    });
  };
  const stopWorker = async () => {
    if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
    worker.child.kill('SIGTERM');
    await worker.waitForExit(30_000);
  };
  const scrape = async () => {
    const response = await fetch(`${platform.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  /** Waits until a scrape satisfies `check`; returns that scrape. */
  const scrapeUntil = (what: string, check: (text: string) => boolean) =>
    waitFor(
      what,
      async () => {
        const text = await scrape();
        return check(text) ? text : undefined;
      },
      30_000,
    );
  const call = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: org.token, body });

  beforeAll(async () => {
    // The worker runs as a process of its own, so its counts reach /metrics only through Redis, as in production.
    platform = await startTestPlatform({ withWorker: false, env: { TASK_CONCURRENCY: '2', TASK_OUTBOX_GRACE_MS: '60000' } });
    await startWorker();
  }, 180_000);
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await stopWorker();
    await platform?.close();
  });

  it('counts org instances by status', async () => {
    const before = sample(await scrape(), 'platform_org_instances', { status: 'READY' });
    org = await platform.createOrg();
    expect(sample(await scrape(), 'platform_org_instances', { status: 'READY' })).toBe(before + 1);
  });

  it('shows tasks waiting, their age and the history backlog, then the worker’s counts once it ran them', async () => {
    const before = await scrape();
    await stopWorker();
    const created = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/v1/tasks', { type: 'noop', class: 'batch' })));
    expect(created.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201]);
    const waiting = await scrapeUntil(
      'five batch tasks waiting for over 0 s',
      (text) => sample(text, 'platform_task_queue_oldest_waiting_seconds', { class: 'batch' }) > 0,
    );
    expect(sample(waiting, 'platform_task_queue_jobs', { class: 'batch', state: 'waiting' })).toBe(5);
    expect(sample(waiting, 'platform_tasks_created_total', { class: 'batch' })).toBe(
      sample(before, 'platform_tasks_created_total', { class: 'batch' }) + 5,
    );
    expect(sample(waiting, 'platform_event_stream_entries')).toBeGreaterThan(sample(before, 'platform_event_stream_entries'));

    // Cancelled while waiting: final at once, but with no worker nothing writes its history yet.
    expect((await call('POST', `/v1/tasks/${created[0]!.body.id}/cancel`)).status).toBe(202);
    const backlog = await scrapeUntil(
      'the cancelled task to wait for its history write',
      (text) => sample(text, 'platform_task_persist_lag_seconds') > 0,
    );
    expect(sample(backlog, 'platform_task_persist_backlog')).toBe(1);
    expect(sample(backlog, 'platform_task_queue_jobs', { class: 'batch', state: 'waiting' })).toBe(4);

    await startWorker();
    await platform.waitForQueuesDrained(60_000);
    const done = await scrapeUntil(
      'the worker’s counts of the four finished tasks',
      (text) => sample(text, 'platform_tasks_finished_total', { class: 'batch', status: 'SUCCESS' }) >= 4,
    );
    expect(sample(done, 'platform_tasks_finished_total', { class: 'batch', status: 'SUCCESS' })).toBe(4);
    expect(sample(done, 'platform_tasks_finished_total', { class: 'batch', status: 'CANCELLED' })).toBe(1);
    expect(sample(done, 'platform_task_duration_seconds_count', { type: 'noop' })).toBe(4);
    expect(sample(done, 'platform_task_persist_backlog')).toBe(0);
    expect(sample(done, 'platform_task_persist_lag_seconds')).toBe(0);
    expect(sample(done, 'platform_task_queue_jobs', { class: 'batch', state: 'waiting' })).toBe(0);
    expect(sample(done, 'platform_task_queue_oldest_waiting_seconds', { class: 'batch' })).toBe(0);
  }, 240_000);

  it('counts this process’s sockets, subscriptions and stream readers, and its fan-out lag', async () => {
    const before = await scrape();
    const socket = await connectRealtime(platform.baseUrl, org.token);
    sockets.push(socket);
    expect((await socket.subscribe({ topic: 'tasks' })).ok).toBe(true);
    expect((await socket.subscribe({ topic: 'resource' })).ok).toBe(true);
    const after = await scrape();
    expect(sample(after, 'platform_realtime_sockets')).toBe(sample(before, 'platform_realtime_sockets') + 1);
    expect(sample(after, 'platform_realtime_subscriptions')).toBe(sample(before, 'platform_realtime_subscriptions') + 2);
    expect(sample(after, 'platform_realtime_stream_readers')).toBe(1);
    expect(after).toMatch(/^platform_realtime_fanout_lag_seconds \d/m);
    socket.close();
    await scrapeUntil(
      'the socket to be gone',
      (text) => sample(text, 'platform_realtime_sockets') === sample(before, 'platform_realtime_sockets'),
    );
  });

  it('counts Supabase Realtime connections, channels, messages out by kind, join refusals by reason and replays', async () => {
    await platform.queryOrgDatabase(
      org.slug,
      `CREATE POLICY metered_read ON realtime.messages FOR SELECT TO authenticated USING (realtime.topic() LIKE 'metered-%');
       CREATE POLICY metered_write ON realtime.messages FOR INSERT TO authenticated WITH CHECK (realtime.topic() LIKE 'metered-%')`,
    );
    const client = createClient(platform.baseUrl, org.token, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never },
    });
    const join = (channel: RealtimeChannel) =>
      new Promise<string>((resolve) =>
        channel.subscribe((status) => {
          if (status === 'SUBSCRIBED' || status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') resolve(status);
        }),
      );
    try {
      const since = Date.now() - 1;
      const before = await scrape();
      const heard: unknown[] = [];
      const room = client
        .channel('metered-room', { config: { private: true, broadcast: { self: true, ack: true } } })
        .on('broadcast', { event: 'tick' }, ({ payload }) => heard.push(payload));
      expect(await join(room)).toBe('SUBSCRIBED');
      expect(await room.send({ type: 'broadcast', event: 'tick', payload: { n: 1 } })).toBe('ok');
      await waitFor('the broadcast back', () => (heard.length === 1 ? true : undefined));
      const refused = client.channel('forbidden-room', { config: { private: true } });
      expect(await join(refused)).toBe('CHANNEL_ERROR');
      // Before supabase-js tries the join again.
      await client.removeChannel(refused);
      await client.removeChannel(room);
      const replayed: unknown[] = [];
      const replaying = client
        .channel('metered-room', { config: { private: true, broadcast: { replay: { since } } } })
        .on('broadcast', { event: 'tick' }, ({ payload }) => replayed.push(payload));
      expect(await join(replaying)).toBe('SUBSCRIBED');
      await waitFor('the replayed broadcast', () => (replayed.length === 1 ? true : undefined));
      const after = await scrape();
      const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
      expect(moved('platform_supabase_realtime_connections')).toBe(1);
      expect(moved('platform_supabase_realtime_channels')).toBe(1);
      // The broadcast back, and the replayed one.
      expect(moved('platform_supabase_realtime_messages_out_total', { kind: 'broadcast' })).toBe(2);
      // Replies to three joins (one an error), the ack, and two leaves (the refused channel's answered as unmatched); heartbeats count apart.
      expect(moved('platform_supabase_realtime_messages_out_total', { kind: 'phx_reply' })).toBe(6);
      expect(moved('platform_supabase_realtime_messages_out_total', { kind: 'phx_close' })).toBe(1);
      expect(moved('platform_supabase_realtime_join_refusals_total', { reason: 'forbidden' })).toBe(1);
      expect(moved('platform_supabase_realtime_replays_total')).toBe(1);
      expect(moved('platform_supabase_realtime_replayed_messages_total')).toBe(1);
    } finally {
      await client.removeAllChannels();
      client.realtime.disconnect();
    }
    await scrapeUntil('the Supabase connection to be gone', (text) => sample(text, 'platform_supabase_realtime_connections') === 0);
  });

  it('counts leases held and callers waiting for one', async () => {
    expect((await call('POST', '/v1/pools', { name: 'metered', kind: 'sandbox' })).status).toBe(201);
    expect((await call('POST', '/v1/pools/metered/environments', { name: 'only' })).status).toBe(201);
    const held = await call('POST', '/v1/pools/metered/allocations', { holder: 'first', ttlSeconds: 60 });
    expect(held.status).toBe(201);
    const queued = call('POST', '/v1/pools/metered/allocations', { holder: 'second', ttlSeconds: 60, waitSeconds: 30 });
    const busy = await scrapeUntil(
      'a caller to wait for the environment',
      (text) => sample(text, 'platform_resource_leases', { state: 'waiting' }) === 1,
    );
    expect(sample(busy, 'platform_resource_leases', { state: 'active' })).toBe(1);
    expect((await call('DELETE', `/v1/allocations/${held.body.id}`)).status).toBe(204);
    expect((await queued).status).toBe(201);
    const served = await scrape();
    expect(sample(served, 'platform_resource_leases', { state: 'waiting' })).toBe(0);
    expect(sample(served, 'platform_resource_leases', { state: 'active' })).toBe(1);
    // Low cardinality by default: no org or pool label unless METRICS_ORG_LABELS=on.
    expect(served).not.toMatch(/platform_resource_leases\{[^}]*org=/);
  });
});
