import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EventType, PLATFORM_EVENTS_ORG, type WorkerView } from '#libs/contracts';
import { createLogger } from '#libs/logging';
import { OrgEventStream } from '#libs/realtime';
import { TaskLifecycle } from '#libs/tasks';
import { findFreePort, startEmbeddedPostgres, type RunningPostgres } from '#libs/runtime';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

const WORKER_TIMING = { QUEUE_LOCK_DURATION_MS: '1000', WORKER_HEARTBEAT_INTERVAL_MS: '200', WORKER_OFFLINE_AFTER_MS: '1500' };

describe('worker processes: crash and drain (real processes, Redis, BullMQ, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const workers: PlatformProcess[] = [];

  beforeAll(async () => {
    // The API runs here; workers run as separate processes, as in production.
    platform = await startTestPlatform({ withWorker: false, env: WORKER_TIMING });
    const provisioner = spawnWorker();
    const created = await platform.request('POST', '/v1/admin/orgs', { body: { slug: 'crashy', name: 'Crashy' } });
    await platform.waitForStatus('crashy', 'READY');
    org = { id: created.body.org.id, slug: 'crashy', token: created.body.token };
    await stop(provisioner);
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await platform.close();
  });

  function spawnWorker(): PlatformProcess {
    const worker = spawnPlatformProcess('worker', { ...platform.env, ...WORKER_TIMING, LOG_LEVEL: 'info' });
    workers.push(worker);
    return worker;
  }
  async function announcementsOf(workerId: string, afterId: string): Promise<WorkerView[]> {
    const events = await platform.api.get(OrgEventStream).readAfter(PLATFORM_EVENTS_ORG, afterId, 10_000);
    return events
      .filter((event) => event.type === EventType.workerUpdated && (event.data as WorkerView).id === workerId)
      .map((event) => event.data as WorkerView);
  }
  /** The statuses a worker announced, in order; announcements of a running count within one status count once. */
  async function statusesOf(workerId: string, afterId: string): Promise<string[]> {
    return (await announcementsOf(workerId, afterId))
      .map((view) => view.status)
      .filter((status, i, statuses) => i === 0 || statuses[i - 1] !== status);
  }
  async function stop(worker: PlatformProcess) {
    worker.child.kill('SIGTERM');
    return worker.waitForExit(30_000);
  }
  const task = async (id: string) => (await platform.request('GET', `/v1/tasks/${id}`, { token: org.token })).body;
  const workersList = async () => (await platform.request('GET', '/v1/workers', { token: org.token })).body as any[];

  it('retries a task whose worker was killed with SIGKILL, and shows that worker OFFLINE', async () => {
    const doomed = spawnWorker();
    await doomed.waitForOutput(/worker started/);
    const created = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 1500 } } })).body;
    const running = await waitFor('the task to run', async () => {
      const current = await task(created.id);
      return current.status === 'PROCESSING' ? current : undefined;
    });
    doomed.child.kill('SIGKILL');
    await doomed.waitForExit();

    const rescuer = spawnWorker();
    const done = await waitFor(
      'the task to finish elsewhere',
      async () => {
        const current = await task(created.id);
        return ['SUCCESS', 'FAILED'].includes(current.status) ? current : undefined;
      },
      30_000,
    );
    expect(done.status).toBe('SUCCESS');
    expect(done.workerId).not.toBe(running.workerId);
    expect(done.attempts[0]).toMatchObject({
      workerId: running.workerId,
      status: 'FAILED',
      error: expect.stringContaining('stopped responding'),
    });
    const dead = await waitFor('the killed worker to be OFFLINE', async () => {
      const entry = (await workersList()).find((worker) => worker.id === running.workerId);
      return entry?.status === 'OFFLINE' ? entry : undefined;
    });
    expect(dead.running).toBe(0);
    expect(await stop(rescuer)).toBe(0);
  });

  it('drains on SIGTERM: DRAINING, finishes its running task, takes no new one, exits, OFFLINE', async () => {
    const worker = spawnWorker();
    await worker.waitForOutput(/worker started/);
    const started = await platform.api.get(OrgEventStream).lastId(PLATFORM_EVENTS_ORG);
    const long = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 2000 } } })).body;
    await waitFor('the task to run', async () => ((await task(long.id)).status === 'PROCESSING' ? true : undefined));
    const workerId = (await task(long.id)).workerId;
    // The worker announces its running count at the heartbeat after it changed: once that is
    // in, only the drain's announcements follow.
    await waitFor('the running count announced', async () =>
      (await announcementsOf(workerId, started)).some((view) => view.running > 0) ? true : undefined,
    );

    const before = await platform.api.get(OrgEventStream).lastId(PLATFORM_EVENTS_ORG);
    worker.child.kill('SIGTERM');
    // Every change of a worker's status is a recorded `worker.updated` event, so the
    // statuses it went through are read back in order, however short DRAINING lasted.
    await waitFor('DRAINING', async () => ((await statusesOf(workerId, before)).includes('DRAINING') ? true : undefined));
    const late = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body;

    expect(await worker.waitForExit(30_000)).toBe(0);
    expect((await task(long.id)).status).toBe('SUCCESS');
    expect((await task(late.id)).status).toBe('QUEUED');
    expect(await statusesOf(workerId, before)).toEqual(['DRAINING', 'OFFLINE']);
    expect((await workersList()).find((entry) => entry.id === workerId)?.status).toBe('OFFLINE');

    const next = spawnWorker();
    await waitFor('the late task to run on the next worker', async () => ((await task(late.id)).status === 'SUCCESS' ? true : undefined));
    expect(await stop(next)).toBe(0);
  });
});

describe('history while Postgres is down', () => {
  let scratch: string;
  let postgres: RunningPostgres | undefined;
  let platform: TestPlatform;

  afterAll(async () => {
    await platform?.close().catch(() => undefined);
    await postgres?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('loses nothing: tasks finish while it is stopped and every history row arrives once it is back; the 503s are logged once, as a warning', async () => {
    // A Postgres of this test's own, so stopping it harms no other test.
    scratch = await mkdtemp(join(tmpdir(), 'pg-outage-'));
    await chmod(scratch, 0o755);
    const logger = createLogger('test', 'silent');
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const port = await findFreePort();
    const start = () => startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), port, logger, settings: { fsync: 'off' } });
    postgres = await start();
    const controlPlane = Object.assign(new URL(postgres.url), { pathname: '/postgres' }).toString();
    platform = await startTestPlatform({
      env: { HISTORY_RETRY_INTERVAL_MS: '200', CONNECT_TIMEOUT_MS: '1000' },
      controlPlaneServerUrl: controlPlane,
      logs,
    });
    const org = await platform.createOrg();
    const slow: string[] = [];
    for (let i = 0; i < 5; i++) {
      slow.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 1500 } } })).body.id);
    }
    await waitFor('the tasks to run', async () => {
      const { body } = await platform.request('GET', '/v1/tasks?status=PROCESSING', { token: org.token });
      return body.items.length > 0 ? true : undefined;
    });

    await postgres.stop();
    postgres = undefined;
    // Task state lives in Redis: the tasks finish without Postgres (the API cannot even check tokens now, so look in Redis).
    const lifecycle = platform.worker!.get(TaskLifecycle);
    await waitFor(
      'every task to finish',
      async () => {
        const tasks = await Promise.all(slow.map((id) => lifecycle.get(org.id, id)));
        return tasks.every((task) => task?.status === 'SUCCESS') ? true : undefined;
      },
      30_000,
    );
    for (let i = 0; i < 3; i++) expect((await platform.request('GET', '/v1/tasks', { token: org.token })).status).toBe(503);
    const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string; cause?: string; err?: unknown });
    const outage = logged.filter((entry) => entry.msg.startsWith('a database is unreachable'));
    // pino levels: 40 warn, 50 error.
    expect(outage).toEqual([expect.objectContaining({ level: 40, cause: expect.stringMatching(/ECONNREFUSED|terminat|timeout/i) })]);
    expect(outage[0]).not.toHaveProperty('err');
    expect(logged.filter((entry) => entry.msg === 'request failed')).toEqual([]);

    postgres = await start();
    await waitFor(
      'every history row',
      async () => {
        const found = await platform.queryOrgDatabase(org.slug, 'SELECT id FROM tasks').catch(() => []);
        return found.length >= 5 ? found : undefined;
      },
      30_000,
    );
    await platform.waitForQueuesDrained();
    const rows = await platform.queryOrgDatabase(org.slug, 'SELECT id FROM tasks');
    expect(rows.map((row) => row.id).sort()).toEqual([...slow].sort());
    // Drained: nothing left to hand over, and still exactly one row per task.
    await waitFor('the persist outbox to be empty', async () => ((await lifecycle.outboxSizes(org.id)).persist === 0 ? true : undefined));
    expect(await platform.queryOrgDatabase(org.slug, 'SELECT id FROM tasks')).toHaveLength(5);
  });
});
