import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventType } from '#libs/contracts';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';
import { connectRealtime } from './realtime-clients.js';

const SECRET = 'webhook-secret-0123456789';

describe('the API the console builds on: redeliver, re-run link, live worker counts, task stats', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let receiver: Server;
  let url: string;
  /** The `x-platform-delivery` header of every POST the receiver got, in order. */
  const received: string[] = [];

  const tokenOf = async (owner: CreatedOrg, role: 'member' | 'viewer') =>
    (await platform.request('POST', '/v1/tokens', { token: owner.token, body: { name: role, role } })).body.token as string;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(String(request.headers['x-platform-delivery']));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    platform = await startTestPlatform({ env: { OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32', TASK_SHELL_ALLOW: 'sh' } });
    org = await platform.createOrg();
    other = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('redelivers a delivery once per request for a member: 202, a second attempt recorded and sent; 404 for another org, 403 for a viewer, audited', async () => {
    const hook = await platform.request('POST', '/v1/webhooks', {
      token: org.token,
      body: { url, events: ['task.succeeded'], secret: SECRET },
    });
    expect(hook.status).toBe(201);
    await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    await platform.waitForQueuesDrained(30_000);
    const [delivery] = (await platform.request('GET', `/v1/webhooks/${hook.body.id}/deliveries`, { token: org.token })).body;
    expect(delivery).toEqual(expect.objectContaining({ status: 'DELIVERED', attempts: 1 }));
    expect(received).toEqual([delivery.id]);
    const path = `/v1/webhooks/${hook.body.id}/deliveries/${delivery.id}/redeliver`;

    // Refused before any side effect: another org's token, a viewer, an id of no delivery, a malformed id.
    expect((await platform.request('POST', path, { token: other.token })).status).toBe(404);
    expect((await platform.request('POST', path, { token: await tokenOf(org, 'viewer') })).status).toBe(403);
    const unknown = `/v1/webhooks/${hook.body.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`;
    expect((await platform.request('POST', unknown, { token: org.token })).status).toBe(404);
    expect((await platform.request('POST', `/v1/webhooks/${hook.body.id}/deliveries/nope/redeliver`, { token: org.token })).status).toBe(
      404,
    );
    await platform.waitForQueuesDrained(30_000);
    expect(received).toEqual([delivery.id]);

    const redelivered = await platform.request('POST', path, { token: await tokenOf(org, 'member') });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toEqual(expect.objectContaining({ id: delivery.id, webhookId: hook.body.id }));
    await platform.waitForQueuesDrained(30_000);
    expect(received).toEqual([delivery.id, delivery.id]);
    const [after] = (await platform.request('GET', `/v1/webhooks/${hook.body.id}/deliveries`, { token: org.token })).body;
    expect(after).toEqual(expect.objectContaining({ id: delivery.id, status: 'DELIVERED', attempts: 2, responseCode: 204 }));

    const audit = (await platform.request('GET', '/v1/audit?action=webhook.redeliver', { token: org.token })).body.items;
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'webhook.redeliver',
        target: { type: 'webhook_delivery', id: `${hook.body.id}/${delivery.id}` },
        actor: expect.objectContaining({ role: 'member' }),
      }),
    );
  });

  it('keeps the task a re-run re-ran, live and in history; refuses (400) a task of another org and creates nothing', async () => {
    const first = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body;
    const rerun = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop', rerunOf: first.id } });
    expect(rerun.status).toBe(201);
    expect(rerun.body.rerunOf).toBe(first.id);
    await platform.waitForQueuesDrained(30_000);
    const stored = await platform.request('GET', `/v1/tasks/${rerun.body.id}`, { token: org.token });
    expect(stored.body).toEqual(expect.objectContaining({ status: 'SUCCESS', rerunOf: first.id }));
    expect(await platform.queryOrgDatabase(org.slug, 'SELECT rerun_of FROM tasks WHERE id = $1', [rerun.body.id])).toEqual([
      { rerun_of: first.id },
    ]);

    const before = (await platform.request('GET', '/v1/tasks?limit=200', { token: other.token })).body.items.length;
    const foreign = await platform.request('POST', '/v1/tasks', { token: other.token, body: { type: 'noop', rerunOf: first.id } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.message).toEqual([`rerunOf: no task ${first.id}`]);
    expect((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop', rerunOf: 'x' } })).status).toBe(400);
    await platform.waitForQueuesDrained(30_000);
    expect((await platform.request('GET', '/v1/tasks?limit=200', { token: other.token })).body.items).toHaveLength(before);
  });

  it('announces worker.updated when a worker starts and stops running a task, and only on a change', async () => {
    const client = await connectRealtime(platform.baseUrl, org.token);
    try {
      const ack = await client.subscribe({ topic: 'worker' });
      expect(ack.ok).toBe(true);
      // The worker's last announcement must say idle (the earlier tests' tasks are done), or the
      // task below would start without changing the count it announced.
      await waitFor(
        'the worker to announce it is idle',
        async () => {
          const { body } = await platform.request('GET', '/v1/workers', { token: org.token });
          return body.length > 0 && body.every((worker: { running: number }) => worker.running === 0) ? true : undefined;
        },
        15_000,
      );
      const task = (await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 3000 } } })).body;
      const busy = await client.waitForEvents(1, (event) => event.type === EventType.workerUpdated && event.data.running > 0, 15_000);
      await platform.waitForQueuesDrained(30_000);
      expect((await platform.request('GET', `/v1/tasks/${task.id}`, { token: org.token })).body.status).toBe('SUCCESS');
      await client.waitForEvents(1, (event) => event.type === EventType.workerUpdated && event.data.running === 0, 15_000);
      const announced = client.events.filter((event) => event.type === EventType.workerUpdated && event.data.id === busy[0].data.id);
      for (let i = 1; i < announced.length; i++) {
        const [previous, next] = [announced[i - 1].data, announced[i].data];
        expect([next.status, next.running]).not.toEqual([previous.status, previous.running]);
      }
    } finally {
      client.close();
    }
  });

  it('answers per-minute figures of the last hour to a viewer: finished, failed, run-time percentiles, counts per status; org-scoped', async () => {
    const stats = await platform.createOrg();
    await Promise.all([
      ...[100, 100, 100].map((ms) =>
        platform.request('POST', '/v1/tasks', { token: stats.token, body: { type: 'sleep', params: { ms } } }),
      ),
      platform.request('POST', '/v1/tasks', {
        token: stats.token,
        body: { type: 'shell', params: { command: 'sh', args: ['-c', 'exit 3'] }, maxAttempts: 1 },
      }),
    ]);
    await platform.waitForQueuesDrained(30_000);

    const answer = await platform.request('GET', '/v1/stats/tasks?window=1h', { token: await tokenOf(stats, 'viewer') });
    expect(answer.status).toBe(200);
    expect(answer.body.window).toBe('1h');
    expect(answer.body.minutes).toHaveLength(60);
    expect(answer.body.counts).toEqual({ SUCCESS: 3, FAILED: 1, CANCELLED: 0 });
    const busy = answer.body.minutes.filter((minute: { finished: number }) => minute.finished > 0);
    expect(busy.reduce((sum: number, minute: { finished: number }) => sum + minute.finished, 0)).toBe(4);
    expect(busy.reduce((sum: number, minute: { failed: number }) => sum + minute.failed, 0)).toBe(1);
    for (const minute of busy) {
      expect(minute.p50Ms).toEqual(expect.any(Number));
      expect(minute.p50Ms).toBeLessThanOrEqual(minute.p95Ms);
      expect(minute.p95Ms).toBeLessThanOrEqual(minute.p99Ms);
    }
    expect(Math.max(...busy.map((minute: { p99Ms: number }) => minute.p99Ms))).toBeGreaterThanOrEqual(100);
    const minutes = answer.body.minutes.map((minute: { at: string }) => Date.parse(minute.at));
    expect(minutes.every((at: number, i: number) => i === 0 || at - minutes[i - 1] === 60_000)).toBe(true);

    const sleeps = (await platform.request('GET', '/v1/stats/tasks?window=15m&type=sleep', { token: stats.token })).body;
    expect(sleeps.minutes).toHaveLength(15);
    expect(sleeps.counts).toEqual({ SUCCESS: 3, FAILED: 0, CANCELLED: 0 });
    const elsewhere = (await platform.request('GET', '/v1/stats/tasks', { token: other.token })).body;
    expect(elsewhere.minutes.reduce((sum: number, minute: { finished: number }) => sum + minute.finished, 0)).toBe(0);
    expect((await platform.request('GET', '/v1/stats/tasks?window=2d', { token: stats.token })).status).toBe(400);
  });

  it('counts a task as waiting at the end of each minute from its creation until it started, and its run time where it finished', async () => {
    const stats = await platform.createOrg();
    // A finished task as history holds it: created 10 minutes ago, started 5 minutes ago, ran one minute.
    const [row] = await platform.queryOrgDatabase<{ created_at: Date; started_at: Date; finished_at: Date }>(
      stats.slug,
      `INSERT INTO tasks (id, type, status, params, priority, attempt, max_attempts, timeout_ms, created_at, started_at, finished_at)
       VALUES (gen_random_uuid(), 'waited', 'SUCCESS', '{}', 5, 1, 1, 600000,
               now() - interval '10 minutes', now() - interval '5 minutes', now() - interval '4 minutes')
       RETURNING created_at, started_at, finished_at`,
    );
    const minuteOf = (at: Date) => Math.floor(at.getTime() / 60_000) * 60_000;
    const { minutes } = (await platform.request('GET', '/v1/stats/tasks?window=15m&type=waited', { token: stats.token })).body;
    expect(minutes).toHaveLength(15);
    for (const minute of minutes) {
      const at = Date.parse(minute.at);
      expect([minute.at, minute.waiting]).toEqual([minute.at, at >= minuteOf(row.created_at) && at < minuteOf(row.started_at) ? 1 : 0]);
      const finishedHere = at === minuteOf(row.finished_at);
      expect([minute.at, minute.finished, minute.p50Ms]).toEqual([minute.at, finishedHere ? 1 : 0, finishedHere ? 60_000 : null]);
    }
  });

  it('describes the redeliver and stats routes, and rerunOf, in the OpenAPI document', async () => {
    const document = (await (await fetch(`${platform.baseUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(document.paths['/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver'] ?? {})).toEqual(['post']);
    expect(Object.keys(document.paths['/v1/stats/tasks'] ?? {})).toEqual(['get']);
    expect(document.paths['/v1/stats/tasks']!.get!.parameters!.map((parameter) => parameter.name).sort()).toEqual(['type', 'window']);
    expect(document.components.schemas.CreateTaskDto!.properties).toHaveProperty('rerunOf');
  });
});
