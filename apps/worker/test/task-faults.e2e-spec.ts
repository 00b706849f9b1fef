import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { taskQueueName } from '#libs/contracts';
import { findFreePort } from '#libs/runtime';
import { FAULT_POINTS, TaskLifecycle } from '#libs/tasks';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

/** Short periods so a crash's hand-offs are finished within a test's patience. */
const FAST = {
  TASK_OUTBOX_RECONCILE_INTERVAL_MS: '200',
  TASK_OUTBOX_GRACE_MS: '1000',
  QUEUE_LOCK_DURATION_MS: '1000',
  HISTORY_RETRY_INTERVAL_MS: '200',
  WORKER_HEARTBEAT_INTERVAL_MS: '200',
  TASK_CONCURRENCY: '8',
};
const FINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];

describe('task tier faults: processes killed at every hand-off (real API and worker processes, Redis, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let lifecycle: TaskLifecycle;
  const processes: PlatformProcess[] = [];

  const spawn = (entry: 'api' | 'worker', env: Record<string, string> = {}) => {
    const child = spawnPlatformProcess(entry, { ...platform.env, LOG_LEVEL: 'info', ...env });
    processes.push(child);
    return child;
  };
  /** Waits for the process to say it is up; if it never does, fails with what it printed. */
  const started = async (child: PlatformProcess, pattern: RegExp) => {
    await child.waitForOutput(pattern, 120_000).catch((error: Error) => {
      throw new Error(`${error.message}; it printed:\n${child.output().slice(-4000)}`);
    });
    return child;
  };
  const startWorker = (env: Record<string, string> = {}) => started(spawn('worker', env), /worker started/);
  const startApi = async (env: Record<string, string> = {}) => {
    const port = await findFreePort();
    const api = await started(spawn('api', { PORT: String(port), ...env }), /API listening on/);
    return { process: api, url: `http://127.0.0.1:${port}` };
  };
  const stop = async (child: PlatformProcess) => {
    if (child.child.exitCode !== null || child.child.signalCode !== null) return;
    child.child.kill('SIGTERM');
    await child.waitForExit(30_000);
  };
  const post = async (baseUrl: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  /**
   * Creates a task as a careful client does: when the call gets no answer (connection
   * refused or reset) or a 503 (a dependency is briefly out of reach), its outcome is
   * unknown, so it asks again with the same idempotency key, through `fallback`.
   */
  const createCarefully = async (first: string, fallback: string, body: object): Promise<{ id: string; retried: boolean }> => {
    let url = first;
    for (let attempt = 1; ; attempt++) {
      const answer = await post(url, '/v1/tasks', body).catch(() => undefined);
      if (answer && answer.status !== 503) {
        // 201 for a new task, 200 for the task an earlier try with this key created.
        expect([200, 201]).toContain(answer.status);
        return { id: answer.body.id, retried: url !== first };
      }
      if (attempt >= 20) throw new Error(`no answer for ${JSON.stringify(body)} after ${attempt} attempts`);
      url = fallback;
    }
  };
  const task = async (id: string) => (await platform.request('GET', `/v1/tasks/${id}`, { token: org.token })).body;

  /** Waits until every given task is final and the org's outboxes are empty: nothing is left to hand over. */
  const drained = (ids: string[], timeoutMs = 60_000) =>
    waitFor(
      'every task final and every outbox empty',
      async () => {
        const sizes = await lifecycle.outboxSizes(org.id);
        if (sizes.enqueue + sizes.persist + sizes.remove > 0) return undefined;
        const tasks = await Promise.all(ids.map(task));
        return tasks.every((current) => FINAL.includes(current.status)) ? tasks : undefined;
      },
      timeoutMs,
    );
  const historyRows = (ids: string[]) =>
    platform.queryOrgDatabase<{ id: string; status: string; idempotency_key: string | null }>(
      org.slug,
      'SELECT id, status, idempotency_key FROM tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );

  beforeAll(async () => {
    // The in-process API answers reads and admin calls; everything under test runs as processes of its own.
    platform = await startTestPlatform({ withWorker: false, env: FAST });
    lifecycle = platform.api.get(TaskLifecycle);
    const provisioner = await startWorker();
    org = await platform.createOrg();
    await stop(provisioner);
  });
  afterEach(async () => {
    // A failed test must not leave its workers running into the next one.
    await Promise.all(processes.map(stop));
  });
  afterAll(async () => {
    for (const child of processes) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await platform.close();
  });

  it('an API killed under create load, retried with the same keys through another API: one final task and one history row per key', async () => {
    const KEYS = 300;
    const IN_FLIGHT = 64;
    const workers = await Promise.all([startWorker(), startWorker()]);
    // The doomed API kills itself on its 100th create, right after the task is stored and before its job is added.
    const [doomed, survivor] = await Promise.all([startApi({ PLATFORM_FAULT_POINT: `${FAULT_POINTS.afterCreateState}@100` }), startApi()]);
    const answered = new Map<string, string>();
    let retried = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < KEYS) {
          const key = `fault-key-${next++}`;
          const created = await createCarefully(doomed.url, survivor.url, { type: 'noop', idempotencyKey: key });
          if (created.retried) retried++;
          answered.set(key, created.id);
        }
      }),
    );
    expect(await doomed.process.waitForExit()).toBeNull();
    expect(doomed.process.output()).toContain(`fault point ${FAULT_POINTS.afterCreateState} reached`);
    expect(retried).toBeGreaterThan(0);

    const ids = [...answered.values()];
    const tasks = await drained(ids);
    expect(answered.size).toBe(KEYS);
    expect(new Set(ids).size).toBe(KEYS);
    expect(tasks.map((current) => current.status)).toEqual(ids.map(() => 'SUCCESS'));
    const rows = await platform.queryOrgDatabase<{ idempotency_key: string; id: string }>(
      org.slug,
      `SELECT idempotency_key, id FROM tasks WHERE idempotency_key LIKE 'fault-key-%'`,
    );
    expect(rows).toHaveLength(KEYS);
    expect(new Map(rows.map((row) => [row.idempotency_key, row.id]))).toEqual(answered);
    // The task stored just before the crash had no job: the reconciler added it.
    expect(workers.map((worker) => worker.output()).join('')).toMatch(/finished interrupted task hand-offs/);
  }, 240_000);

  it('a worker killed as tasks finish: every task final once, exactly one history row each', async () => {
    const TASKS = 120;
    const doomed = await startWorker({ PLATFORM_FAULT_POINT: `${FAULT_POINTS.afterFinishState}@30` });
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      ids.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 20 } } })).body.id);
    }
    expect(await doomed.waitForExit(60_000)).toBeNull();
    expect(doomed.output()).toContain(`fault point ${FAULT_POINTS.afterFinishState} reached`);

    await startWorker();
    const tasks = await drained(ids);
    expect(tasks.map((current) => current.status)).toEqual(ids.map(() => 'SUCCESS'));
    const rows = await historyRows(ids);
    expect(rows).toHaveLength(TASKS);
    expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort());
  }, 180_000);

  it('an API killed mid-cancel: the task stays CANCELLED, never runs, its job is removed, one history row', async () => {
    const doomed = await startApi({ PLATFORM_FAULT_POINT: FAULT_POINTS.afterCancelState });
    // No worker of the tasks' class yet, so they wait in the queue.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id);
    const [victim, ...others] = ids as [string, ...string[]];
    await expect(post(doomed.url, `/v1/tasks/${victim}/cancel`)).rejects.toThrow();
    expect(await doomed.process.waitForExit()).toBeNull();
    expect(doomed.process.output()).toContain(`fault point ${FAULT_POINTS.afterCancelState} reached`);
    expect((await task(victim)).status).toBe('CANCELLED');

    // A worker serving another class runs only the reconciler and the history writer for this org's tasks.
    await startWorker({ WORKER_CLASSES: 'batch' });
    const connection = new Redis(platform.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(taskQueueName('normal'), { connection, prefix: `${platform.redis.prefix}:queue` });
    try {
      await waitFor('the cancelled task’s job to be removed', async () => ((await queue.getJob(victim)) ? undefined : true), 30_000);
      expect(await queue.getJob(others[0]!)).toBeDefined();
    } finally {
      await queue.close();
      connection.disconnect();
    }
    await startWorker();
    const tasks = await drained(ids);
    expect(tasks[0]).toMatchObject({ status: 'CANCELLED', attempts: [] });
    expect(tasks.slice(1).map((current) => current.status)).toEqual(others.map(() => 'SUCCESS'));
    const rows = await historyRows(ids);
    expect(rows).toHaveLength(ids.length);
    expect(rows.find((row) => row.id === victim)?.status).toBe('CANCELLED');
  }, 180_000);

  it('a worker killed between the history write and clearing its outbox: still exactly one history row per task', async () => {
    const doomed = await startWorker({ PLATFORM_FAULT_POINT: FAULT_POINTS.afterHistoryWrite });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id);
    expect(await doomed.waitForExit(60_000)).toBeNull();

    await startWorker();
    const tasks = await drained(ids);
    expect(tasks.map((current) => current.status)).toEqual(ids.map(() => 'SUCCESS'));
    const rows = await historyRows(ids);
    expect(rows).toHaveLength(ids.length);
    expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort());
  }, 180_000);
});
