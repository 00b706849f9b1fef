import { TRIGGER_CONSUMER_GROUP } from '#libs/triggers';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { waitFor, waitForConsumerGroupsDrained } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('change triggers: plain SQL through the WAL relay (real Postgres, Redis, worker)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_SHELL_ALLOW: 'sh', TASK_CONCURRENCY: '8', REALTIME_RELAY_POLL_MS: '200' } });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    for (const { slug } of [org, other]) {
      // A user table as an app makes it; FULL replica identity gives deletes their whole old row.
      await platform.queryOrgDatabase(
        slug,
        `CREATE TABLE public.orders (key text PRIMARY KEY, value int, updated_by text); ALTER TABLE public.orders REPLICA IDENTITY FULL`,
      );
      await waitFor(`the relay to stream ${slug}`, async () => {
        const [slot] = await platform.queryOrgDatabase(slug, 'SELECT active FROM pg_replication_slots WHERE database = current_database()');
        return slot?.active ? true : undefined;
      });
    }
  });
  afterAll(async () => {
    await platform.close();
  });

  const sql = (target: CreatedOrg, statement: string, params: unknown[] = []) => platform.queryOrgDatabase(target.slug, statement, params);
  const redis = () => platform.api.get(RedisConnection).client;
  const stream = (target: CreatedOrg) => platform.api.get(RedisKeys).orgEvents(target.id);
  /** Waits until the trigger workers have read the org's stream to its end, every change the relay stored before included. */
  const drained = async (target: CreatedOrg, marker?: string) => {
    if (marker) {
      await waitFor(`the relay to store ${marker}`, async () => {
        const entries = (await redis().xrevrange(stream(target), '+', '-', 'COUNT', 50)) as [string, string[]][];
        return entries.some(([, fields]) => fields.join(' ').includes(marker)) ? true : undefined;
      });
    }
    // The tasks a trigger creates append their own events to the same stream: the group can read to its end only
    // once they are done, and they can be counted only once the group has read every change. Twice covers both orders.
    for (let round = 0; round < 2; round++) {
      await platform.waitForQueuesDrained(60_000);
      await waitForConsumerGroupsDrained(redis(), stream(target), 60_000);
    }
  };
  const tasksOf = async (token: string) =>
    (await platform.request('GET', '/v1/tasks?type=shell&limit=200', { token })).body.items as {
      id: string;
      trigger?: any;
      status: string;
    }[];

  it('validates the table and the task, naming what is wrong', async () => {
    const bad = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: { name: 'x', table: 'no_such_table', events: ['INSERT'], task: { type: 'shell', params: { command: 'rm' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual([
      'table "no_such_table" does not exist in the organization database or is not published',
      expect.stringContaining('task.command "rm" is not allowed'),
    ]);
    const shape = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: { name: '', table: 'Bad Table', events: ['TRUNCATE'] },
    });
    expect(shape.status).toBe(400);
    expect(shape.body.message.length).toBeGreaterThanOrEqual(4);
  });

  it('creates exactly one task per matching change, even when every change is delivered twice', async () => {
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: {
        name: 'ci orders',
        table: 'orders',
        events: ['INSERT'],
        filter: { updated_by: 'ci' },
        task: { type: 'shell', params: { command: 'sh', args: ['-c', 'echo "$PG_EVENT_TYPE $PG_EVENT_TABLE"; echo "$PG_EVENT_DATA"'] } },
      },
    });
    expect(trigger.status).toBe(201);
    const before = (await redis().xinfo('STREAM', stream(org))) as unknown[];
    const startId = String(before[before.indexOf('last-generated-id') + 1]);

    await sql(org, `INSERT INTO public.orders (key, value, updated_by) SELECT 'k' || n, n, 'ci' FROM generate_series(0, 99) AS n`);
    await sql(org, `UPDATE public.orders SET value = 1000 WHERE key = 'k1'`);
    await sql(org, `INSERT INTO public.orders (key, value, updated_by) VALUES ('human', 0, 'alice')`);
    await drained(org, '"human"');
    // Every stored change delivered a second time, as after a trigger worker that died before acknowledging them.
    await redis().xgroup('SETID', stream(org), TRIGGER_CONSUMER_GROUP, startId);
    await drained(org);

    const tasks = await tasksOf(org.token);
    const runs = (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs?limit=500`, { token: org.token })).body;
    expect(tasks).toHaveLength(100);
    expect(runs).toHaveLength(100);
    expect(new Set(tasks.map((task) => task.trigger.event.record.key))).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `k${i}`)));
    expect(tasks.every((task) => task.trigger.triggerId === trigger.body.id && task.trigger.event.type === 'INSERT')).toBe(true);
    expect(new Set(runs.map((run: any) => run.taskId))).toEqual(new Set(tasks.map((task) => task.id)));

    const one = tasks.find((task) => task.trigger.event.record.key === 'k7')!;
    await waitFor('the task to run', async () =>
      (await platform.request('GET', `/v1/tasks/${one.id}`, { token: org.token })).body.status === 'SUCCESS' ? true : undefined,
    );
    const output = (await platform.request('GET', `/v1/tasks/${one.id}/logs?stream=STDOUT`, { token: org.token })).body.items
      .map((item: any) => item.chunk)
      .join('');
    expect(output).toContain('INSERT orders');
    expect(output).toContain('"key":"k7"');
    await platform.request('DELETE', `/v1/triggers/${trigger.body.id}`, { token: org.token });
  }, 180_000);

  it('records a change whose task no longer validates as a run without a task, acknowledges it and goes on', async () => {
    const create = async (name: string) =>
      (
        await platform.request('POST', '/v1/triggers', {
          token: org.token,
          body: {
            name,
            table: 'orders',
            events: ['INSERT'],
            filter: { updated_by: 'stale' },
            task: { type: 'shell', params: { command: 'sh', args: ['-c', 'true'] } },
          },
        })
      ).body as { id: string };
    const [fine, stale] = [await create('fine'), await create('stale')];
    // As if TASK_SHELL_ALLOW had lost its command since the trigger was made: its stored task no longer validates.
    await sql(org, `UPDATE platform.triggers SET task = jsonb_set(task, '{params,command}', '"rm"') WHERE id = $1`, [stale.id]);
    await sql(org, `INSERT INTO public.orders (key, value, updated_by) VALUES ('s1', 1, 'stale')`);
    // Read to the end with nothing left pending: the change is not tried again and again.
    await drained(org, '"s1"');
    const runsOf = async (id: string) => (await platform.request('GET', `/v1/triggers/${id}/runs`, { token: org.token })).body;
    expect(await runsOf(fine.id)).toEqual([{ taskId: expect.any(String), eventType: 'INSERT', createdAt: expect.any(String) }]);
    const [failed] = await runsOf(stale.id);
    expect(failed).toEqual({ taskId: null, eventType: 'INSERT', createdAt: expect.any(String), error: expect.stringContaining('"rm"') });
    for (const { id } of [fine, stale]) await platform.request('DELETE', `/v1/triggers/${id}`, { token: org.token });
  }, 180_000);

  it('fires UPDATE and DELETE triggers with the new and the old row, filtered on the row the change leaves', async () => {
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: {
        name: 'order changes',
        table: 'orders',
        events: ['UPDATE', 'DELETE'],
        filter: { updated_by: 'ops' },
        task: { type: 'shell', params: { command: 'sh', args: ['-c', 'echo "$PG_EVENT_TYPE"'] } },
      },
    });
    expect(trigger.status).toBe(201);
    const runsOf = async () => (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs?limit=50`, { token: org.token })).body;
    await sql(org, `INSERT INTO public.orders (key, value, updated_by) VALUES ('o1', 1, 'ops'), ('o2', 2, 'ops'), ('o3', 3, 'dev')`);
    await sql(org, `UPDATE public.orders SET value = 10 WHERE key IN ('o1', 'o3')`);
    await sql(org, `DELETE FROM public.orders WHERE key IN ('o2', 'o3')`);
    await sql(org, `INSERT INTO public.orders (key, value, updated_by) VALUES ('changes-end', 0, 'none')`);
    await drained(org, '"changes-end"');

    const runs = await runsOf();
    expect(runs).toHaveLength(2);
    const fired = await Promise.all(
      runs.map(async (run: any) => (await platform.request('GET', `/v1/tasks/${run.taskId}`, { token: org.token })).body.trigger.event),
    );
    const byType = Object.fromEntries(fired.map((event) => [event.type, event]));
    expect(byType.UPDATE).toMatchObject({ table: 'orders', record: { key: 'o1', value: 10 }, old_record: { key: 'o1', value: 1 } });
    expect(byType.DELETE).toMatchObject({ table: 'orders', record: null, old_record: { key: 'o2', value: 2, updated_by: 'ops' } });
    await platform.request('DELETE', `/v1/triggers/${trigger.body.id}`, { token: org.token });
  });

  it('never fires on another org’s changes, and not when disabled', async () => {
    const created = await platform.request('POST', '/v1/triggers', {
      token: other.token,
      body: {
        name: 'all inserts',
        table: 'orders',
        events: ['INSERT'],
        task: { type: 'shell', params: { command: 'sh', args: ['-c', 'true'] } },
      },
    });
    expect(created.status).toBe(201);
    await sql(org, `INSERT INTO public.orders (key, updated_by) VALUES ('for-org-a-only', 'ci')`);
    expect(
      (await platform.request('PATCH', `/v1/triggers/${created.body.id}`, { token: other.token, body: { enabled: false } })).body.enabled,
    ).toBe(false);
    await sql(other, `INSERT INTO public.orders (key) VALUES ('while-disabled')`);
    await drained(other, '"while-disabled"');
    await platform.request('PATCH', `/v1/triggers/${created.body.id}`, { token: other.token, body: { enabled: true } });
    await sql(other, `INSERT INTO public.orders (key) VALUES ('after-enabled')`);
    await drained(other, '"after-enabled"');

    const found = await tasksOf(other.token);
    expect(found.map((task) => task.trigger?.event.record.key)).toEqual(['after-enabled']);
    expect((await platform.request('GET', `/v1/triggers/${created.body.id}/runs`, { token: org.token })).status).toBe(404);
    expect((await platform.request('DELETE', `/v1/triggers/${created.body.id}`, { token: org.token })).status).toBe(404);
    expect((await platform.request('DELETE', `/v1/triggers/${created.body.id}`, { token: other.token })).status).toBe(204);
  });
});
