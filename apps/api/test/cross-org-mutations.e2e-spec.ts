import type { Queue } from 'bullmq';
import { QueueName } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/**
 * Every mutating route, called with org B's admin token on org A's ids: each answers 404,
 * and A's object is then unchanged and still behaves as it did (a schedule keeps ticking,
 * a task runs to its end, a lease stays held, a token still authenticates ...).
 */
describe("another org's admin cannot change an org's objects through any mutating route", () => {
  let platform: TestPlatform;
  let a: CreatedOrg;
  let b: CreatedOrg;
  let schedules: Queue;

  beforeAll(async () => {
    platform = await startTestPlatform();
    [a, b] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    schedules = platform.api.get(QueueFactory).queue(QueueName.schedules);
  });
  afterAll(async () => {
    await platform.close();
  });

  const asA = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: a.token, body });
  const asB = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: b.token, body });
  const ticksOf = async (scheduleId: string) => (await schedules.getJobScheduler(`schedule-${scheduleId}`))?.iterationCount ?? 0;

  it('schedules: pause, resume and delete from B leave A ticking, unpaused, with its timer', async () => {
    const created = await asA('POST', '/v1/schedules', { name: 'every second', everyMs: 1000, task: { type: 'noop' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitFor('the first tick', async () => ((await ticksOf(id)) >= 1 ? true : undefined), 15_000);

    expect((await asB('POST', `/v1/schedules/${id}/pause`)).status).toBe(404);
    expect((await asB('POST', `/v1/schedules/${id}/resume`)).status).toBe(404);
    expect((await asB('DELETE', `/v1/schedules/${id}`)).status).toBe(404);

    const ticksAfter = await ticksOf(id);
    const runsAfter = (await asA('GET', `/v1/schedules/${id}/runs?limit=200`)).body.items.length as number;
    await waitFor('two more ticks of the scheduler', async () => ((await ticksOf(id)) >= ticksAfter + 2 ? true : undefined), 15_000);
    await waitFor(
      'tasks of those ticks',
      async () => ((await asA('GET', `/v1/schedules/${id}/runs?limit=200`)).body.items.length >= runsAfter + 2 ? true : undefined),
      15_000,
    );
    expect((await asA('GET', `/v1/schedules/${id}`)).body).toMatchObject({ id, paused: false });
    expect((await asA('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
  });

  it("tasks: a cancel from B leaves A's task running to SUCCESS", async () => {
    const task = (await asA('POST', '/v1/tasks', { type: 'sleep', params: { ms: 1500 } })).body;
    expect((await asB('POST', `/v1/tasks/${task.id}/cancel`)).status).toBe(404);
    const done = await waitFor(
      'the task to finish',
      async () => {
        const current = (await asA('GET', `/v1/tasks/${task.id}`)).body;
        return ['SUCCESS', 'FAILED', 'CANCELLED'].includes(current.status) ? current : undefined;
      },
      30_000,
    );
    expect(done.status).toBe('SUCCESS');
  });

  it("tokens: a revoke from B leaves A's token working", async () => {
    const token = (await asA('POST', '/v1/tokens', { name: 'ci', role: 'viewer' })).body;
    expect((await asB('DELETE', `/v1/tokens/${token.id}`)).status).toBe(404);
    expect((await platform.request('GET', '/v1/tasks', { token: token.token })).status).toBe(200);
    const listed = (await asA('GET', '/v1/tokens')).body.find((entry: { id: string }) => entry.id === token.id);
    expect(listed.revokedAt).toBeNull();
  });

  it("pools, environments and allocations: B's calls change nothing of A's and A's lease stays held", async () => {
    const pool = (await asA('POST', '/v1/pools', { name: 'sandboxes', kind: 'sandbox' })).body;
    const environment = (await asA('POST', `/v1/pools/${pool.id}/environments`, { name: 'env-1', attributes: { region: 'eu' } })).body;
    const spare = (await asA('POST', `/v1/pools/${pool.id}/environments`, { name: 'env-2' })).body;
    const lease = (await asA('POST', `/v1/pools/${pool.id}/allocations`, { holder: 'ci', ttlSeconds: 600 })).body;
    expect(lease.id).toBeDefined();
    const before = (await asA('GET', `/v1/pools/${pool.id}`)).body;

    expect((await asB('POST', `/v1/pools/${pool.id}/environments`, { name: 'intruder' })).status).toBe(404);
    expect((await asB('POST', `/v1/pools/${pool.name}/environments`, { name: 'intruder' })).status).toBe(404);
    expect((await asB('PATCH', `/v1/pools/${pool.id}/environments/${environment.id}`, { attributes: { region: 'us' } })).status).toBe(404);
    expect((await asB('DELETE', `/v1/pools/${pool.id}/environments/${spare.id}`)).status).toBe(404);
    expect((await asB('POST', `/v1/pools/${pool.id}/allocations`, { holder: 'intruder', ttlSeconds: 60 })).status).toBe(404);
    expect((await asB('POST', `/v1/allocations/${lease.id}/extend`, { ttlSeconds: 1 })).status).toBe(404);
    expect((await asB('DELETE', `/v1/allocations/${lease.id}`)).status).toBe(404);

    expect((await asA('GET', `/v1/pools/${pool.id}`)).body).toEqual(before);
    expect((await asA('GET', `/v1/pools/${pool.id}/environments/${environment.id}`)).body.attributes).toEqual({ region: 'eu' });
    const held = (await asA('GET', `/v1/allocations/${lease.id}`)).body;
    expect(held.status).toBe('active');
    expect(held.expiresAt).toBe(lease.expiresAt);
    // The spare is still free: A can lease it, and then none is left.
    expect((await asA('POST', `/v1/pools/${pool.id}/allocations`, { holder: 'ci', ttlSeconds: 60 })).body.environment.id).toBe(spare.id);
    expect((await asA('POST', `/v1/pools/${pool.id}/allocations`, { holder: 'ci', ttlSeconds: 60 })).status).toBe(409);
  });

  it("webhooks: a delete from B leaves A's webhook registered", async () => {
    const webhook = (
      await asA('POST', '/v1/webhooks', { url: 'https://hooks.example.com/a', events: ['task.succeeded'], secret: 'a'.repeat(32) })
    ).body;
    expect((await asB('DELETE', `/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await asB('GET', `/v1/webhooks/${webhook.id}/deliveries`)).status).toBe(404);
    expect((await asA('GET', '/v1/webhooks')).body.map((entry: { id: string }) => entry.id)).toContain(webhook.id);
    expect((await asA('GET', `/v1/webhooks/${webhook.id}/deliveries`)).status).toBe(200);
  });

  it("triggers: disabling and deleting from B leave A's trigger enabled", async () => {
    await platform.queryOrgDatabase(a.slug, 'CREATE TABLE public.cross_org_items (id int PRIMARY KEY, name text)');
    const trigger = await asA('POST', '/v1/triggers', {
      name: 'on items',
      table: 'cross_org_items',
      events: ['INSERT'],
      task: { type: 'noop' },
    });
    expect(trigger.status).toBe(201);
    expect((await asB('PATCH', `/v1/triggers/${trigger.body.id}`, { enabled: false })).status).toBe(404);
    expect((await asB('DELETE', `/v1/triggers/${trigger.body.id}`)).status).toBe(404);
    const listed = (await asA('GET', '/v1/triggers')).body.find((entry: { id: string }) => entry.id === trigger.body.id);
    expect(listed).toMatchObject({ id: trigger.body.id, enabled: true });
  });
});
