import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const TERMINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];

describe('scheduling: priority classes, delayed tasks, schedules, webhooks (real Redis, BullMQ, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    // The webhook receiver below listens on loopback, which outbound requests may reach only when allowed.
    platform = await startTestPlatform({
      env: { TASK_CONCURRENCY: '1', WEBHOOK_RETRY_BACKOFF_MS: '100', OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' },
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

    const done = await finished(critical.id, 5000);
    expect(done.status).toBe('SUCCESS');
    const waiting = (await platform.request('GET', '/v1/tasks?status=QUEUED&type=sleep&limit=200', { token: org.token })).body.items.length;
    expect(waiting).toBeGreaterThan(50);
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

    beforeAll(async () => {
      second = spawnPlatformProcess('worker', { ...platform.env, LOG_LEVEL: 'info' });
      await second.waitForOutput(/worker started/);
    });
    afterAll(async () => {
      second.child.kill('SIGTERM');
      await second.waitForExit(30_000);
    });

    it('creates one task per tick (5 ± 1 in 5 s), none while paused', async () => {
      const created = await platform.request('POST', '/v1/schedules', {
        token: org.token,
        body: { name: 'every second', everyMs: 1000, task: { type: 'noop', class: 'critical' } },
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      const started = Date.now();
      const runs = async () =>
        (await platform.request('GET', `/v1/schedules/${id}/runs?limit=200`, { token: org.token })).body.items as any[];
      await waitFor('5 seconds of ticks', () => (Date.now() - started >= 5000 ? true : undefined), 6000);
      expect((await platform.request('POST', `/v1/schedules/${id}/pause`, { token: org.token })).body.paused).toBe(true);

      const ticks = await runs();
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      expect(ticks.length).toBeLessThanOrEqual(6);
      expect(new Set(ticks.map((task) => task.idempotencyKey)).size).toBe(ticks.length);
      const times = ticks.map((task) => Date.parse(task.createdAt)).sort();
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(500);

      const pausedAt = Date.now();
      await waitFor('two tick intervals while paused', () => (Date.now() - pausedAt >= 2500 ? true : undefined), 4000);
      expect((await runs()).length).toBe(ticks.length);
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

    beforeAll(async () => {
      receiver = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
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
