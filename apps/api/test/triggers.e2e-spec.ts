import { RedisConnection, RedisKeys } from '#libs/redis';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('change triggers (real Postgres, Redis, worker)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_SHELL_ALLOW: 'sh', TASK_CONCURRENCY: '8' } });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    await Promise.all([org, other].map(({ slug }) => platform.createUserTable(slug)));
  });
  afterAll(async () => {
    await platform.close();
  });

  /** Appends a row change to the org's event stream exactly as the change relay does. */
  async function rowChange(
    orgId: string,
    type: 'row.inserted' | 'row.updated',
    lsn: string,
    record: object,
    oldRecord: object | null = null,
  ) {
    const stream = platform.api.get(RedisKeys).orgEvents(orgId);
    const data = {
      schema: 'public',
      table: 'entries',
      record,
      old_record: oldRecord,
      commitTimestamp: new Date().toISOString(),
      lsn,
    };
    await platform.api
      .get(RedisConnection)
      .client.xadd(stream, '*', 'type', type, 'topic', 'table:entries', 'at', data.commitTimestamp, 'data', JSON.stringify(data));
  }
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
        name: 'ci entries',
        table: 'entries',
        events: ['INSERT'],
        filter: { updated_by: 'ci' },
        task: { type: 'shell', params: { command: 'sh', args: ['-c', 'echo "$PG_EVENT_TYPE $PG_EVENT_TABLE"; echo "$PG_EVENT_DATA"'] } },
      },
    });
    expect(trigger.status).toBe(201);

    for (let i = 0; i < 100; i++)
      await rowChange(org.id, 'row.inserted', `0/${(i + 1).toString(16)}`, { key: `k${i}`, value: i, updated_by: 'ci' });
    await rowChange(org.id, 'row.updated', '0/ff01', { key: 'k1', value: 1, updated_by: 'ci' }, { key: 'k1' });
    await rowChange(org.id, 'row.inserted', '0/ff02', { key: 'human', value: 0, updated_by: 'alice' });
    // A relay failing over replays what it had not acknowledged: the same changes again.
    for (let i = 0; i < 100; i++)
      await rowChange(org.id, 'row.inserted', `0/${(i + 1).toString(16)}`, { key: `k${i}`, value: i, updated_by: 'ci' });

    const tasks = await waitFor(
      '100 tasks',
      async () => {
        const found = await tasksOf(org.token);
        return found.length >= 100 ? found : undefined;
      },
      30_000,
    );
    const runs = await waitFor('100 runs recorded', async () => {
      const { body } = await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs?limit=500`, { token: org.token });
      return body.length === 100 ? body : undefined;
    });
    expect(tasks).toHaveLength(100);
    expect(new Set(tasks.map((task) => task.trigger.event.record.key)).size).toBe(100);
    expect(tasks.every((task) => task.trigger.triggerId === trigger.body.id && task.trigger.event.type === 'INSERT')).toBe(true);
    expect(new Set(runs.map((run: any) => run.taskId))).toEqual(new Set(tasks.map((task) => task.id)));

    const one = tasks.find((task) => task.trigger.event.record.key === 'k7')!;
    await waitFor('the task to run', async () =>
      (await platform.request('GET', `/v1/tasks/${one.id}`, { token: org.token })).body.status === 'SUCCESS' ? true : undefined,
    );
    const output = (await platform.request('GET', `/v1/tasks/${one.id}/logs?stream=STDOUT`, { token: org.token })).body.items
      .map((item: any) => item.chunk)
      .join('');
    expect(output).toContain('INSERT entries');
    expect(output).toContain('"key":"k7"');
  });

  it('never fires on another org’s changes, and not when disabled', async () => {
    const created = await platform.request('POST', '/v1/triggers', {
      token: other.token,
      body: {
        name: 'all inserts',
        table: 'entries',
        events: ['INSERT'],
        task: { type: 'shell', params: { command: 'sh', args: ['-c', 'true'] } },
      },
    });
    const before = (await tasksOf(other.token)).length;
    await rowChange(org.id, 'row.inserted', '0/aaaa', { key: 'for-org-a-only', updated_by: 'ci' });
    expect(
      (await platform.request('PATCH', `/v1/triggers/${created.body.id}`, { token: other.token, body: { enabled: false } })).body.enabled,
    ).toBe(false);
    await rowChange(other.id, 'row.inserted', '0/bbbb', { key: 'while-disabled' });
    await waitFor('the trigger workers to have handled every change', async () => {
      const groups = (await platform.api
        .get(RedisConnection)
        .client.xinfo('GROUPS', platform.api.get(RedisKeys).orgEvents(other.id))) as unknown[][];
      const info = Object.fromEntries(Array.from({ length: groups[0]!.length / 2 }, (_, i) => [groups[0]![2 * i], groups[0]![2 * i + 1]]));
      return info.pending === 0 && info.lag === 0 ? true : undefined;
    });
    await platform.request('PATCH', `/v1/triggers/${created.body.id}`, { token: other.token, body: { enabled: true } });
    await rowChange(other.id, 'row.inserted', '0/cccc', { key: 'after-enabled' });

    const found = await waitFor('the enabled firing', async () => {
      const tasks = await tasksOf(other.token);
      return tasks.length > before ? tasks : undefined;
    });
    expect(found.map((task) => task.trigger?.event.record.key).filter(Boolean)).toEqual(['after-enabled']);
    expect((await platform.request('GET', `/v1/triggers/${created.body.id}/runs`, { token: org.token })).status).toBe(404);
    expect((await platform.request('DELETE', `/v1/triggers/${created.body.id}`, { token: org.token })).status).toBe(404);
    expect((await platform.request('DELETE', `/v1/triggers/${created.body.id}`, { token: other.token })).status).toBe(204);
  });
});
