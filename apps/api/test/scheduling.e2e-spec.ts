import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueName } from '#libs/contracts';
import { RedisKeys } from '#libs/redis';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const TERMINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];

describe('scheduling: priority classes, delayed tasks, schedules, webhooks (real Redis, BullMQ, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    // The webhook receiver below listens on loopback, which outbound requests may reach only when allowed.
    platform = await startTestPlatform({
      env: { TASK_CONCURRENCY: '1', WEBHOOK_RETRY_BACKOFF_MS: '100', WEBHOOK_MAX_ATTEMPTS: '4', OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' },
    });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  const create = (body: object) => platform.request('POST', '/v1/tasks', { token: org.token, body });
  const get = async (id: string) => (await platform.request('GET', `/v1/tasks/${id}`, { token: org.token })).body;
  const finished = (id: string, timeoutMs = 30_000) =>
    waitFor(
      `task ${id} to finish`,
      async () => {
        const task = await get(id);
        return TERMINAL.includes(task.status) ? task : undefined;
      },
      timeoutMs,
    );

  it('starts a critical task while a flood of batch tasks still waits', async () => {
    const batch = await Promise.all(Array.from({ length: 200 }, () => create({ type: 'sleep', class: 'batch', params: { ms: 20 } })));
    await waitFor('the batch flood to start', async () => ((await get(batch[0]!.body.id)).status !== 'QUEUED' ? true : undefined));
    const critical = (await create({ type: 'noop', class: 'critical' })).body;
    expect(critical.class).toBe('critical');

    const done = await finished(critical.id);
    expect(done.status).toBe('SUCCESS');
    const waiting = (await platform.request('GET', '/v1/tasks?status=QUEUED&type=sleep&limit=200', { token: org.token })).body.items.length;
    expect(waiting).toBeGreaterThan(0);
    await Promise.all(batch.map(({ body }) => platform.request('POST', `/v1/tasks/${body.id}/cancel`, { token: org.token })));
  });

  it('keeps a task SCHEDULED until its delay has passed, then runs it', async () => {
    const created = (await create({ type: 'noop', delayMs: 1500 })).body;
    expect(created.status).toBe('SCHEDULED');
    expect(Date.parse(created.runAt) - Date.parse(created.createdAt)).toBe(1500);
    expect((await get(created.id)).status).toBe('SCHEDULED');

    const done = await finished(created.id);
    expect(done.status).toBe('SUCCESS');
    expect(Date.parse(done.startedAt) - Date.parse(done.createdAt)).toBeGreaterThanOrEqual(1500);
  });

  it('cancels a scheduled task, and refuses a delay given twice', async () => {
    const created = (await create({ type: 'noop', runAt: new Date(Date.now() + 60_000).toISOString() })).body;
    expect(created.status).toBe('SCHEDULED');
    expect((await platform.request('POST', `/v1/tasks/${created.id}/cancel`, { token: org.token })).body.status).toBe('CANCELLED');
    const both = await create({ type: 'noop', delayMs: 10, runAt: new Date().toISOString() });
    expect(both.status).toBe(400);
    expect(both.body.message).toEqual(['give delayMs or runAt, not both']);
  });

  describe('schedules with two worker processes', () => {
    let second: PlatformProcess;
    let connection: Redis;
    /** The queue whose job schedulers tick the schedules: their own records and tick times are the clock these tests read. */
    let ticks: Queue;

    beforeAll(async () => {
      second = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
      connection = new Redis(platform.redis.url, { maxRetriesPerRequest: null });
      ticks = new Queue(QueueName.schedules, { connection, prefix: platform.api.get(RedisKeys).queuePrefix(QueueName.schedules) });
      await second.waitForOutput(/worker started/);
    });
    afterAll(async () => {
      await ticks.close();
      connection.disconnect();
      second.child.kill('SIGTERM');
      await second.waitForExit(30_000);
    });

    const runs = async (id: string) =>
      (await platform.request('GET', `/v1/schedules/${id}/runs?limit=200`, { token: org.token })).body.items as any[];
    /** The scheduler's own time of each tick a run came from (its job id ends in the tick's time). */
    const tickTimes = (items: any[]) => items.map((task) => Number(/:(\d+)$/.exec(task.idempotencyKey)![1])).sort((a, b) => a - b);
    const waitForRuns = (id: string, count: number) =>
      waitFor(
        `${count} runs of schedule ${id}`,
        async () => {
          const found = await runs(id);
          return found.length >= count ? found : undefined;
        },
        30_000,
      );

    it('creates one task per tick, everyMs apart by the scheduler’s clock, none while paused, and ticks again once resumed', async () => {
      const created = await platform.request('POST', '/v1/schedules', {
        token: org.token,
        body: { name: 'every second', everyMs: 1000, task: { type: 'noop', class: 'critical' } },
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      await waitForRuns(id, 3);
      expect((await platform.request('POST', `/v1/schedules/${id}/pause`, { token: org.token })).body.paused).toBe(true);
      // Paused: the job scheduler is gone, so nothing can tick; once the queues are drained the runs are final.
      expect(await ticks.getJobScheduler(`schedule-${id}`)).toBeUndefined();
      await platform.waitForQueuesDrained();

      const paused = await runs(id);
      expect(new Set(paused.map((task) => task.idempotencyKey)).size).toBe(paused.length);
      const times = tickTimes(paused);
      for (let i = 1; i < times.length; i++) expect((times[i]! - times[i - 1]!) % 1000).toBe(0);
      expect(new Set(times).size).toBe(times.length);

      expect((await platform.request('POST', `/v1/schedules/${id}/resume`, { token: org.token })).body.paused).toBe(false);
      const resumed = await waitForRuns(id, paused.length + 1);
      const later = tickTimes(resumed).filter((time) => time > times.at(-1)!);
      expect(later.length).toBe(resumed.length - paused.length);
      expect((await platform.request('DELETE', `/v1/schedules/${id}`, { token: org.token })).status).toBe(204);
      expect(await ticks.getJobScheduler(`schedule-${id}`)).toBeUndefined();
    });

    it('fires a cron schedule in its time zone, and again after pause and resume', async () => {
      // Kathmandu is UTC+05:45: "at minute 0 of every hour" there is minute 15 of a UTC hour.
      const hourly = await platform.request('POST', '/v1/schedules', {
        token: org.token,
        body: { name: 'hourly in Kathmandu', cron: '0 * * * *', timezone: 'Asia/Kathmandu', task: { type: 'noop' } },
      });
      expect(hourly.status).toBe(201);
      const scheduler = await ticks.getJobScheduler(`schedule-${hourly.body.id}`);
      expect(scheduler).toMatchObject({ pattern: '0 * * * *', tz: 'Asia/Kathmandu' });
      expect(new Date(Number(scheduler!.next)).getUTCMinutes()).toBe(15);
      expect((await platform.request('DELETE', `/v1/schedules/${hourly.body.id}`, { token: org.token })).status).toBe(204);

      const everySecond = await platform.request('POST', '/v1/schedules', {
        token: org.token,
        body: {
          name: 'every second in Kathmandu',
          cron: '* * * * * *',
          timezone: 'Asia/Kathmandu',
          task: { type: 'noop', class: 'critical' },
        },
      });
      expect(everySecond.status).toBe(201);
      const id = everySecond.body.id;
      const fired = await waitForRuns(id, 2);
      expect(fired.every((task) => task.scheduleId === id && task.type === 'noop')).toBe(true);
      await platform.request('POST', `/v1/schedules/${id}/pause`, { token: org.token });
      await platform.waitForQueuesDrained();
      const before = (await runs(id)).length;
      expect((await platform.request('POST', `/v1/schedules/${id}/resume`, { token: org.token })).status).toBe(200);
      expect(await ticks.getJobScheduler(`schedule-${id}`)).toMatchObject({ tz: 'Asia/Kathmandu' });
      await waitForRuns(id, before + 1);
      expect((await platform.request('DELETE', `/v1/schedules/${id}`, { token: org.token })).status).toBe(204);
    });
  });

  it('refuses a bad cron pattern, time zone or task with 400 naming each', async () => {
    const bad = await platform.request('POST', '/v1/schedules', {
      token: org.token,
      body: { name: 'bad', cron: 'every tuesday', timezone: 'Mars/Olympus', task: { type: 'teleport' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual([
      expect.stringContaining('timezone "Mars/Olympus"'),
      expect.stringContaining('cron "every tuesday"'),
      expect.stringContaining('task.type must be one of'),
    ]);
  });

  describe('webhooks', () => {
    let receiver: Server;
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    /** Requests to `/down`, a receiver that never accepts. */
    const refused: string[] = [];

    beforeAll(async () => {
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          if (request.url === '/down') {
            refused.push(body);
            response.writeHead(503).end('down');
            return;
          }
          received.push({ headers: request.headers, body });
          // Fails twice, then accepts.
          response.writeHead(received.length <= 2 ? 500 : 200).end(received.length <= 2 ? 'not yet' : 'ok');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => receiver.close(resolve));
    });

    it('retries a failing receiver, signs each delivery and records every answer', async () => {
      const secret = 'a-webhook-secret-of-some-length';
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const webhook = await platform.request('POST', '/v1/webhooks', {
        token: org.token,
        body: { url, events: ['task.succeeded'], secret },
      });
      expect(webhook.status).toBe(201);
      expect(JSON.stringify(webhook.body)).not.toContain(secret);

      const task = (await create({ type: 'noop' })).body;
      await waitFor('three deliveries', () => (received.length >= 3 ? true : undefined), 20_000);
      await platform.waitForQueuesDrained();

      expect(received).toHaveLength(3);
      for (const delivery of received) {
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(delivery.headers['x-platform-signature']))!;
        expect(createHmac('sha256', secret).update(`${t}.${delivery.body}`).digest('hex')).toBe(v1);
        expect(JSON.parse(delivery.body)).toMatchObject({ event: 'task.succeeded', org: org.id, data: { id: task.id, status: 'SUCCESS' } });
      }
      const log = await waitFor('the delivery to be recorded as delivered', async () => {
        const { body } = await platform.request('GET', `/v1/webhooks/${webhook.body.id}/deliveries`, { token: org.token });
        return body[0]?.status === 'DELIVERED' ? body : undefined;
      });
      expect(log).toEqual([expect.objectContaining({ event: 'task.succeeded', attempts: 3, responseCode: 200, status: 'DELIVERED' })]);
      expect(
        (await platform.request('GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries', { token: org.token })).status,
      ).toBe(404);
      const refused = await platform.request('POST', '/v1/webhooks', {
        token: org.token,
        body: { url: 'ftp://x', events: ['task.exploded'], secret: 'short' },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.message).toHaveLength(3);
      expect((await platform.request('DELETE', `/v1/webhooks/${webhook.body.id}`, { token: org.token })).status).toBe(204);
    });

    it('gives up after WEBHOOK_MAX_ATTEMPTS and records the delivery FAILED', async () => {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/down`;
      const webhook = await platform.request('POST', '/v1/webhooks', {
        token: org.token,
        body: { url, events: ['task.succeeded'], secret: 'a-webhook-secret-of-some-length' },
      });
      expect(webhook.status).toBe(201);
      const task = (await create({ type: 'noop' })).body;
      const log = await waitFor(
        'the delivery to be given up',
        async () => {
          const { body } = await platform.request('GET', `/v1/webhooks/${webhook.body.id}/deliveries`, { token: org.token });
          return body[0]?.status === 'FAILED' ? body : undefined;
        },
        20_000,
      );
      await platform.waitForQueuesDrained();
      expect(refused).toHaveLength(4);
      expect(refused.every((body) => JSON.parse(body).data.id === task.id)).toBe(true);
      expect(log).toEqual([expect.objectContaining({ event: 'task.succeeded', attempts: 4, responseCode: 503, status: 'FAILED' })]);
      expect((await platform.request('GET', `/v1/webhooks/${webhook.body.id}/deliveries`, { token: org.token })).body).toEqual(log);
    });
  });
});

describe('a worker serving only some classes', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { WORKER_CLASSES: 'critical' } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it('runs its classes and leaves the others waiting', async () => {
    const org = await platform.createOrg();
    const batch = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop', class: 'batch' } })).body;
    const critical = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop', class: 'critical' } })).body;
    await waitFor('the critical task', async () =>
      (await platform.request('GET', `/v1/tasks/${critical.id}`, { token: org.token })).body.status === 'SUCCESS' ? true : undefined,
    );
    expect((await platform.request('GET', `/v1/tasks/${batch.id}`, { token: org.token })).body.status).toBe('QUEUED');
  });
});
