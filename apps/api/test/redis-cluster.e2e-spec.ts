import type { Cluster } from 'ioredis';
import { RedisKeys } from '#libs/redis';
import { startTestRedisCluster, waitFor, type TestRedisCluster } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const TERMINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];

describe('on Redis Cluster: tasks, realtime, resources, triggers and schedules (real 3-primary cluster)', () => {
  let cluster: TestRedisCluster;
  let platform: TestPlatform;
  let orgs: CreatedOrg[];
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    cluster = await startTestRedisCluster(3);
    platform = await startTestPlatform({
      redis: cluster.testRedis(),
      env: { TASK_SHELL_ALLOW: 'sh', TASK_CONCURRENCY: '8', REALTIME_RELAY_POLL_MS: '200', RESOURCE_SWEEP_INTERVAL_MS: '100' },
    });
    // Three orgs: their keys hash to (almost surely) different slots, and in most runs to different primaries.
    orgs = await Promise.all([platform.createOrg(), platform.createOrg(), platform.createOrg()]);
  }, 120_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await platform?.close();
    await cluster?.stop();
  });

  const connect = async (org: CreatedOrg) => {
    const socket = await connectRealtime(platform.baseUrl, org.token);
    sockets.push(socket);
    return socket;
  };
  const createTask = (org: CreatedOrg, body: object) => platform.request('POST', '/v1/tasks', { token: org.token, body });
  const finished = (org: CreatedOrg, id: string) =>
    waitFor(
      `task ${id} to finish`,
      async () => {
        const { body } = await platform.request('GET', `/v1/tasks/${id}`, { token: org.token });
        return TERMINAL.includes(body?.status) ? body : undefined;
      },
      30_000,
    );

  it('spreads the platform’s keys over the primaries: per-org, per-queue and platform-wide hash tags', async () => {
    const keys = platform.api.get(RedisKeys);
    expect(keys.platform('task-orgs')).toBe(`${platform.env.REDIS_PREFIX}:{platform}:task-orgs`);
    expect(keys.queuePrefix('tasks-default')).toBe(`${platform.env.REDIS_PREFIX}:{queue:tasks-default}`);
    await Promise.all(orgs.map((org) => createTask(org, { type: 'noop' })));
    await platform.waitForQueuesDrained(60_000);
    const client = cluster.connect() as unknown as Cluster;
    try {
      await client.ping();
      const holding = await Promise.all(
        client
          .nodes('master')
          .map(async (node) => (await node.scan('0', 'MATCH', `${platform.env.REDIS_PREFIX}:*`, 'COUNT', 10_000))[1].length),
      );
      expect(holding.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);
    } finally {
      client.disconnect();
    }
  });

  it('runs tasks of several orgs to SUCCESS with exactly one history row each', async () => {
    const created = await Promise.all(
      orgs.flatMap((org) => [
        createTask(org, { type: 'shell', params: { command: 'sh', args: ['-c', 'echo on-cluster'] } }).then((r) => ({ org, task: r.body })),
        ...Array.from({ length: 10 }, () => createTask(org, { type: 'noop' }).then((r) => ({ org, task: r.body }))),
      ]),
    );
    expect(created.every(({ task }) => task.status === 'QUEUED')).toBe(true);
    for (const { org, task } of created) expect((await finished(org, task.id)).status).toBe('SUCCESS');
    await platform.waitForQueuesDrained(60_000);
    for (const org of orgs) {
      const rows = await platform.queryOrgDatabase(org.slug, 'SELECT id, status FROM tasks');
      const mine = created.filter((entry) => entry.org === org).map(({ task }) => task.id);
      expect(rows.filter((row) => mine.includes(row.id))).toHaveLength(mine.length);
      expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    }
    const shell = created.find(({ task }) => task.type === 'shell')!;
    const logs = await platform.request('GET', `/v1/tasks/${shell.task.id}/logs`, { token: shell.org.token });
    expect(logs.body.items.map((item: any) => item.chunk).join('')).toContain('on-cluster');
  }, 120_000);

  it('delivers each org’s task events live to its own sockets only, and replays what a `since` missed', async () => {
    const [a, b] = [await connect(orgs[0]!), await connect(orgs[1]!)];
    const [subA, subB] = await Promise.all([a.subscribe({ topic: 'tasks' }), b.subscribe({ topic: 'tasks' })]);
    expect(subA.ok && subB.ok).toBe(true);
    const taskA = (await createTask(orgs[0]!, { type: 'noop' })).body;
    const taskB = (await createTask(orgs[1]!, { type: 'noop' })).body;
    await finished(orgs[0]!, taskA.id);
    await finished(orgs[1]!, taskB.id);
    const seenA = await a.waitForEvents(1, (event) => event.topic === `task:${taskA.id}` && event.data.status === 'SUCCESS');
    await b.waitForEvents(1, (event) => event.topic === `task:${taskB.id}` && event.data.status === 'SUCCESS');
    expect(a.events.every((event) => event.org === orgs[0]!.id)).toBe(true);
    expect(b.events.every((event) => event.org === orgs[1]!.id)).toBe(true);
    expect(a.events.some((event) => event.topic === `task:${taskB.id}`)).toBe(false);

    // A client that went away at the last event it saw comes back and replays what it missed.
    const since = seenA[0]!.id;
    const missed = (await createTask(orgs[0]!, { type: 'noop' })).body;
    await finished(orgs[0]!, missed.id);
    const back = await connect(orgs[0]!);
    expect((await back.subscribe({ topic: 'tasks', since })).ok).toBe(true);
    const replayed = await back.waitForEvents(1, (event) => event.topic === `task:${missed.id}` && event.data.status === 'SUCCESS');
    expect(replayed[0]!.id > since).toBe(true);
    expect(back.events.every((event) => event.org === orgs[0]!.id)).toBe(true);
  });

  it('gives 5 environments to exactly 5 of 100 concurrent callers; the others get 409', async () => {
    const org = orgs[2]!;
    const call = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: org.token, body });
    expect((await call('POST', '/v1/pools', { name: 'contended', kind: 'sandbox' })).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await call('POST', '/v1/pools/contended/environments', { name: `env-${i}` })).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call('POST', '/v1/pools/contended/allocations', { holder: `caller-${i}`, ttlSeconds: 60 })),
    );
    const won = answers.filter((answer) => answer.status === 201);
    expect(won).toHaveLength(5);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(95);
    expect(new Set(won.map((answer) => answer.body.environment.id)).size).toBe(5);
    expect((await call('GET', '/v1/pools/contended')).body.counts).toEqual({ free: 0, allocated: 5, retired: 0 });
    // The sweeper (a platform-wide lease) ends a short lease by itself.
    const released = await call('DELETE', `/v1/allocations/${won[0]!.body.id}`);
    expect(released.status).toBe(204);
    const short = await call('POST', '/v1/pools/contended/allocations', { holder: 'brief', ttlSeconds: 1 });
    expect(short.status).toBe(201);
    await waitFor('the short lease to expire', async () =>
      (await call('GET', `/v1/allocations/${short.body.id}`)).body.status === 'expired' ? true : undefined,
    );
  });

  it('fires a trigger once per matching row change and a schedule on every tick', async () => {
    const org = orgs[1]!;
    await platform.queryOrgDatabase(org.slug, 'CREATE TABLE public.orders (key text PRIMARY KEY, value int, updated_by text)');
    await waitFor(`the relay to stream ${org.slug}`, async () => {
      const [slot] = await platform.queryOrgDatabase(
        org.slug,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active ? true : undefined;
    });
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: { name: 'orders', table: 'orders', events: ['INSERT'], task: { type: 'noop' } },
    });
    expect(trigger.status).toBe(201);
    await platform.queryOrgDatabase(org.slug, `INSERT INTO public.orders SELECT 'k' || n, n, 'ci' FROM generate_series(1, 5) AS n`);
    const runs = await waitFor('five trigger runs', async () => {
      const { body } = await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs?limit=50`, { token: org.token });
      return body?.length >= 5 ? body : undefined;
    });
    expect(new Set(runs.map((run: any) => run.taskId)).size).toBe(5);

    const schedule = await platform.request('POST', '/v1/schedules', {
      token: org.token,
      body: { name: 'tick', everyMs: 1000, task: { type: 'noop' } },
    });
    expect(schedule.status).toBe(201);
    const ticks = await waitFor(
      'two scheduled runs',
      async () => {
        const { body } = await platform.request('GET', `/v1/schedules/${schedule.body.id}/runs?limit=200`, { token: org.token });
        return body?.items?.length >= 2 ? (body.items as any[]) : undefined;
      },
      30_000,
    );
    expect(new Set(ticks.map((task) => task.idempotencyKey)).size).toBe(ticks.length);
    expect((await platform.request('DELETE', `/v1/schedules/${schedule.body.id}`, { token: org.token })).status).toBe(204);
    await platform.waitForQueuesDrained(60_000);
    const tasks = (await platform.request('GET', '/v1/tasks?limit=200', { token: org.token })).body.items as any[];
    expect(tasks.filter((task) => task.trigger?.triggerId === trigger.body.id)).toHaveLength(5);
  }, 120_000);
});
