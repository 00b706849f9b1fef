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
