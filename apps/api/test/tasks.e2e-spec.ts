import { waitFor } from '#libs/testing';
import { connectRealtime } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const TERMINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];
/** TASK_RETRY_BACKOFF_MS of the lifecycle tests: the least a failed attempt waits before the next. */
const BACKOFF_MS = 300;

describe('tasks: lifecycle, logs, history, reads (real Redis, BullMQ, Postgres, HTTP)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        TASK_SHELL_ALLOW: 'echo,sh,sleep',
        TASK_CONCURRENCY: '4',
        TASK_CANCEL_GRACE_MS: '500',
        TASK_RETRY_BACKOFF_MS: String(BACKOFF_MS),
      },
    });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
  });
  afterAll(async () => {
    await platform.close();
  });

  const createTask = (body: object, token = org.token) => platform.request('POST', '/v1/tasks', { token, body });
  const getTask = (id: string, token = org.token) => platform.request('GET', `/v1/tasks/${id}`, { token });
  const waitForTask = (id: string, statuses: string[] = TERMINAL, token = org.token) =>
    waitFor(
      `task ${id} to be ${statuses.join('|')}`,
      async () => {
        const { body } = await getTask(id, token);
        return statuses.includes(body?.status) ? body : undefined;
      },
      20_000,
    );
  const historyRows = (slug: string, id: string) => platform.queryOrgDatabase(slug, 'SELECT id, status FROM tasks WHERE id = $1', [id]);
  const waitForHistory = (slug: string, id: string) =>
    waitFor(`history of ${id}`, async () => {
      const rows = await historyRows(slug, id);
      return rows.length ? rows : undefined;
    });

  it('runs a shell task to SUCCESS with tagged live logs and exactly one history row', async () => {
    const created = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', 'echo out-line; echo err-line >&2'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'QUEUED', type: 'shell', attempt: 1 });

    const done = await waitForTask(created.body.id);
    expect(done).toMatchObject({ status: 'SUCCESS', result: { exitCode: 0 }, progress: 1 });
    expect(done.startedAt <= done.finishedAt).toBe(true);
    expect(done.attempts).toEqual([expect.objectContaining({ attempt: 1, status: 'SUCCESS', workerId: done.workerId })]);

    const logs = (await platform.request('GET', `/v1/tasks/${created.body.id}/logs`, { token: org.token })).body;
    const byStream = (stream: string) =>
      logs.items
        .filter((item: any) => item.stream === stream)
        .map((item: any) => item.chunk)
        .join('');
    expect(byStream('STDOUT')).toBe('out-line\n');
    expect(byStream('STDERR')).toBe('err-line\n');
    expect(logs.items.map((item: any) => item.seq)).toEqual(logs.items.map((_: unknown, i: number) => i + 1));

    expect(await waitForHistory(org.slug, created.body.id)).toEqual([{ id: created.body.id, status: 'SUCCESS' }]);
    const persistedLogs = await platform.queryOrgDatabase(org.slug, 'SELECT stream, chunk FROM task_logs WHERE task_id = $1 ORDER BY seq', [
      created.body.id,
    ]);
    expect(persistedLogs.map((row) => row.chunk).join('')).toContain('out-line');
  });

  it('refuses a non-allow-listed executable and bad params with 400 naming them', async () => {
    const refused = await createTask({ type: 'shell', params: { command: 'rm', args: ['-rf', '/'] } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toEqual([expect.stringContaining('command "rm" is not allowed')]);

    const bad = await createTask({ type: 'shell', params: { command: 'echo', args: 'not-a-list', env: { 'BAD NAME': 1 }, extra: true } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining([
        expect.stringContaining('params.args'),
        expect.stringContaining('params.env'),
        expect.stringContaining('params.extra'),
      ]),
    );
    expect((await createTask({ type: 'teleport' })).body.message).toEqual(['type must be one of: shell, sleep, noop']);
    expect((await createTask({ type: 'noop', priority: 0, surprise: 1 })).status).toBe(400);
  });

  it('fails a task that runs past its time limit, with a SYSTEM line saying so', async () => {
    const created = await createTask({ type: 'shell', params: { command: 'sleep', args: ['30'] }, timeoutMs: 300 });
    const done = await waitForTask(created.body.id);
    expect(done).toMatchObject({ status: 'FAILED', error: 'timed out after 300 ms' });
    const system = await platform.request('GET', `/v1/tasks/${created.body.id}/logs?stream=SYSTEM`, { token: org.token });
    expect(system.body.items.map((item: any) => item.chunk).join('')).toContain('timed out after 300 ms');
  });

  it('retries a failing task with backoff, back to QUEUED with attempt+1, then FAILED', async () => {
    const socket = await connectRealtime(platform.baseUrl, org.token);
    try {
      const { position } = await socket.subscribe({ topic: 'tasks', filter: { type: 'noop' } });
      const created = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', 'exit 3'] }, maxAttempts: 2 });
      const watched = await socket.subscribe({ topic: 'task', id: created.body.id, since: position });
      expect(watched.ok).toBe(true);
      const done = await waitForTask(created.body.id);
      expect(done).toMatchObject({ status: 'FAILED', attempt: 2, error: 'sh exited with code 3' });
      expect(done.attempts.map((attempt: any) => [attempt.attempt, attempt.status])).toEqual([
        [1, 'FAILED'],
        [2, 'FAILED'],
      ]);
      // Backoff: the second attempt started no sooner than TASK_RETRY_BACKOFF_MS after the first ended.
      expect(Date.parse(done.attempts[1].startedAt) - Date.parse(done.attempts[0].finishedAt)).toBeGreaterThanOrEqual(BACKOFF_MS);
      const transitions = (
        await socket
          .waitForEvents(1, (event) => event.type === 'task.updated' && event.data.status === 'FAILED', 20_000)
          .then(() => socket.events.filter((event) => event.subscriptions.includes(watched.subscription) && event.type === 'task.updated'))
      ).map((event) => [event.data.status, event.data.attempt]);
      expect(transitions).toEqual([
        ['QUEUED', 1],
        ['CLAIMED', 1],
        ['PROCESSING', 1],
        ['QUEUED', 2],
        ['CLAIMED', 2],
        ['PROCESSING', 2],
        ['FAILED', 2],
      ]);
      await waitForHistory(org.slug, created.body.id);
      const attempts = await platform.queryOrgDatabase(
        org.slug,
        'SELECT attempt, status FROM task_attempts WHERE task_id = $1 ORDER BY attempt',
        [created.body.id],
      );
      expect(attempts).toEqual([
        { attempt: 1, status: 'FAILED' },
        { attempt: 2, status: 'FAILED' },
      ]);
    } finally {
      socket.close();
    }
  });

  it('returns the same task for a repeated idempotency key, even after it moved to history', async () => {
    const first = await createTask({ type: 'noop', idempotencyKey: 'deploy-42' });
    const again = await createTask({ type: 'noop', idempotencyKey: 'deploy-42' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const elsewhere = await createTask({ type: 'noop', idempotencyKey: 'deploy-42' }, other.token);
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.id).not.toBe(first.body.id);

    await waitForTask(first.body.id);
    await waitForHistory(org.slug, first.body.id);
    await platform.redis.cleanupMatching(`{org:${org.id}}:task*`);
    const later = await createTask({ type: 'noop', idempotencyKey: 'deploy-42' });
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ id: first.body.id, status: 'SUCCESS' });
  });

  it('cancels a running task by stopping its OS process (a queued one: see below); a finished one is 409', async () => {
    // `exec` makes the sleep the very process whose pid the shell printed.
    const running = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', 'echo "pid=$$"; exec sleep 30'] } });
    const pid = await waitFor('the task to print its pid', async () => {
      const { body } = await platform.request('GET', `/v1/tasks/${running.body.id}/logs?stream=STDOUT`, { token: org.token });
      const match = /pid=(\d+)/.exec(body.items.map((item: any) => item.chunk).join(''));
      return match ? Number(match[1]) : undefined;
    });
    const alive = (id: number) => {
      try {
        process.kill(id, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive(pid)).toBe(true);
    expect((await platform.request('POST', `/v1/tasks/${running.body.id}/cancel`, { token: org.token })).status).toBe(202);
    const cancelled = await waitForTask(running.body.id);
    expect(cancelled.status).toBe('CANCELLED');
    await waitFor(`process ${pid} to be gone`, () => (alive(pid) ? undefined : true));
    expect((await platform.request('POST', `/v1/tasks/${running.body.id}/cancel`, { token: org.token })).status).toBe(409);
    await waitForHistory(org.slug, running.body.id);
  });

  it('lets viewers read but not create or cancel, and hides other orgs’ tasks behind 404', async () => {
    const viewer = (await platform.request('POST', '/v1/tokens', { token: org.token, body: { name: 'v', role: 'viewer' } })).body.token;
    expect((await createTask({ type: 'noop' }, viewer)).status).toBe(403);
    const task = (await createTask({ type: 'noop' })).body;
    expect((await getTask(task.id, viewer)).status).toBe(200);
    expect((await platform.request('POST', `/v1/tasks/${task.id}/cancel`, { token: viewer })).status).toBe(403);

    await waitForTask(task.id);
    expect((await getTask(task.id, other.token)).status).toBe(404);
    expect((await platform.request('GET', `/v1/tasks/${task.id}/logs`, { token: other.token })).status).toBe(404);
    expect((await platform.request('POST', `/v1/tasks/${task.id}/cancel`, { token: other.token })).status).toBe(404);
    expect((await getTask('not-a-uuid')).status).toBe(404);
  });

  it('answers the same from history once the live keys are gone: task, list and logs', async () => {
    const created = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', 'echo alpha; echo BETA >&2; echo gamma'] } });
    const live = await waitForTask(created.body.id);
    await waitForHistory(org.slug, created.body.id);
    const liveLogs = (await platform.request('GET', `/v1/tasks/${created.body.id}/logs?q=beta`, { token: org.token })).body;

    // What TASK_RETENTION_SECONDS does in time, done now: only Postgres can answer.
    await platform.redis.cleanupMatching(`*task:${created.body.id}*`);
    expect((await getTask(created.body.id)).body).toEqual(live);
    expect((await platform.request('GET', `/v1/tasks/${created.body.id}/logs?q=beta`, { token: org.token })).body).toEqual(liveLogs);
    expect(liveLogs.items).toEqual([expect.objectContaining({ stream: 'STDERR', chunk: 'BETA\n' })]);
    const stdout = (await platform.request('GET', `/v1/tasks/${created.body.id}/logs?stream=STDOUT&after=0&limit=1`, { token: org.token }))
      .body;
    expect(stdout.items).toHaveLength(1);
    expect(stdout.next).toBe(stdout.items[0].seq);
  });

  it('takes a finished task out of the live index once its history is written; lists then show it once, from history', async () => {
    const created = await createTask({ type: 'noop' });
    const finished = await waitForTask(created.body.id);
    await waitForHistory(org.slug, created.body.id);
    const redis = platform.redis.connect();
    try {
      const index = `${platform.redis.prefix}:{org:${org.id}}:tasks`;
      await waitFor('the task to leave the live index', async () =>
        (await redis.zscore(index, created.body.id)) === null ? true : undefined,
      );
      // Its live keys stay until TASK_RETENTION_SECONDS: the task itself is still read from Redis.
      expect(await redis.exists(`${platform.redis.prefix}:{org:${org.id}}:task:${created.body.id}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
    const listed = (await platform.request('GET', '/v1/tasks?limit=200', { token: org.token })).body.items.filter(
      (task: { id: string }) => task.id === created.body.id,
    );
    expect(listed).toEqual([finished]);
  });

  it('lists live and finished tasks newest first, filtered, in pages that neither skip nor repeat', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createTask({ type: 'noop' }, other.token)).body.id);
    await Promise.all(ids.slice(0, 4).map((id) => waitForTask(id, TERMINAL, other.token).then(() => waitForHistory(other.slug, id))));
    await platform.redis.cleanupMatching(`*task:${ids[0]}*`);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/tasks?type=noop&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await platform.request('GET', query, { token: other.token });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((task: any) => task.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const ours = seen.filter((id) => ids.includes(id));
    expect(ours).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);

    const succeeded = await platform.request('GET', '/v1/tasks?status=SUCCESS&limit=200', { token: other.token });
    expect(succeeded.body.items.map((task: any) => task.id)).toEqual(expect.arrayContaining(ids.slice(0, 4)));
    expect(succeeded.body.items.every((task: any) => task.status === 'SUCCESS')).toBe(true);
    expect((await platform.request('GET', '/v1/tasks?cursor=garbage', { token: other.token })).status).toBe(400);
    expect((await platform.request('GET', '/v1/tasks?limit=5000', { token: other.token })).status).toBe(400);
  });

  it('shows the worker ONLINE with its heartbeat', async () => {
    const workers = await platform.request('GET', '/v1/workers', { token: org.token });
    expect(workers.status).toBe(200);
    expect(workers.body).toEqual([expect.objectContaining({ status: 'ONLINE', concurrency: 4, lastHeartbeatAt: expect.any(String) })]);
  });
});

describe('fair scheduling across orgs', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it("runs another org's tasks between a flooding org's backlog instead of after it", async () => {
    const [flooder, neighbour] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    const flood = await Promise.all(
      Array.from({ length: 60 }, () =>
        platform.request('POST', '/v1/tasks', { token: flooder.token, body: { type: 'sleep', params: { ms: 20 } } }),
      ),
    );
    const few = await Promise.all(
      Array.from({ length: 3 }, () => platform.request('POST', '/v1/tasks', { token: neighbour.token, body: { type: 'noop' } })),
    );

    // One list request per poll and org: a poller per task would load the very worker being measured.
    const finishedAt = async (token: string, ids: string[]) =>
      waitFor(
        `${ids.length} tasks to finish`,
        async () => {
          const { items } = (await platform.request('GET', '/v1/tasks?limit=200', { token })).body;
          const done = new Map<string, string>(items.filter((task: any) => task.finishedAt).map((task: any) => [task.id, task.finishedAt]));
          return ids.every((id) => done.has(id)) ? ids.map((id) => done.get(id)!) : undefined;
        },
        90_000,
      );
    const neighbourDone = await finishedAt(
      neighbour.token,
      few.map(({ body }) => body.id),
    );
    const lastNeighbour = neighbourDone.sort().at(-1)!;
    const neighbourCreated = few.map(({ body }) => body.createdAt as string).sort()[0]!;
    const floodDone = await finishedAt(
      flooder.token,
      flood.map(({ body }) => body.id),
    );
    const floodAfter = floodDone.filter((at) => at > lastNeighbour).length;
    const floodBetween = floodDone.filter((at) => at > neighbourCreated && at <= lastNeighbour).length;

    // Behind the flood, the neighbour would finish last; with fair share it goes ahead of what the flood still had waiting.
    expect(floodAfter).toBeGreaterThan(floodBetween);
  }, 150_000);
});

describe('cancelling a task no worker has taken yet', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ withWorker: false });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('is CANCELLED at once, and a second cancel is 409', async () => {
    const created = await platform.request('POST', '/v1/admin/orgs', { body: { slug: 'no-worker', name: 'No worker' } });
    // Without a worker the org stays PENDING; tasks need a READY org only to reach history.
    const token = created.body.token;
    const task = (await platform.request('POST', '/v1/tasks', { token, body: { type: 'noop' } })).body;
    expect(task.status).toBe('QUEUED');

    const cancelled = await platform.request('POST', `/v1/tasks/${task.id}/cancel`, { token });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', finishedAt: expect.any(String) });
    expect((await platform.request('GET', `/v1/tasks/${task.id}`, { token })).body.status).toBe('CANCELLED');
    expect((await platform.request('POST', `/v1/tasks/${task.id}/cancel`, { token })).status).toBe(409);
  });
});

describe('1,000 tasks across 3 orgs', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_CONCURRENCY: '16', HISTORY_CONCURRENCY: '16' } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('ends with exactly 1,000 history rows, each in its own org database', async () => {
    const orgs = await Promise.all([platform.createOrg(), platform.createOrg(), platform.createOrg()]);
    const created = new Map<string, string[]>(orgs.map((org) => [org.slug, []]));
    const CONCURRENCY = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < 1000) {
          const org = orgs[next++ % orgs.length]!;
          const answer = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
          created.get(org.slug)!.push(answer.body.id);
        }
      }),
    );
    await waitFor(
      '1,000 history rows',
      async () => {
        const counts = await Promise.all(orgs.map((org) => platform.queryOrgDatabase(org.slug, 'SELECT id FROM tasks')));
        return counts.reduce((sum, found) => sum + found.length, 0) >= 1000 ? counts : undefined;
      },
      120_000,
    );
    // Drained: nothing left to run, retry or persist, so a late duplicate would be in the count below.
    await platform.waitForQueuesDrained(60_000);
    const rows = await Promise.all(orgs.map((org) => platform.queryOrgDatabase(org.slug, 'SELECT id FROM tasks')));
    for (const [index, org] of orgs.entries()) {
      expect(rows[index]!.map((row) => row.id).sort()).toEqual([...created.get(org.slug)!].sort());
    }
    expect(rows.reduce((sum, found) => sum + found.length, 0)).toBe(1000);
  }, 180_000);
});
