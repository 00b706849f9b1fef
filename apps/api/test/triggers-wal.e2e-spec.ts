import { Redis } from 'ioredis';
import { findFreePort } from '#libs/runtime';
import { spawnPlatformProcess, waitFor, waitForConsumerGroupsDrained, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const ROWS = 100;
/** Rows after which the API process relaying the org's changes is killed. */
const KILL_AFTER = 40;

describe('change triggers over real WAL: plain SQL inserts, relay killed mid-way (real processes)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let redis: Redis;
  const apis: PlatformProcess[] = [];

  const startRelayingApi = async () => {
    const port = await findFreePort();
    const api = spawnPlatformProcess('api', {
      ...platform.env,
      PORT: String(port),
      REALTIME_RELAY: 'on',
      REALTIME_RELAY_POLL_MS: '200',
      REALTIME_RELAY_LEASE_MS: '1500',
    });
    apis.push(api);
    await api.waitForOutput(/API listening on/);
  };
  const leaseHolderPid = async () => {
    const holder = await redis.get(`${platform.redis.prefix}:{org:${org.id}}:relay:lease`);
    return holder ? Number(holder.split(':')[1]) : undefined;
  };
  const insert = (slug: string, key: string, updatedBy: string) =>
    platform.queryOrgDatabase(slug, `INSERT INTO entries (key, value, updated_by) VALUES ($1, '1', $2)`, [key, updatedBy]);

  beforeAll(async () => {
    // The in-process API and worker never relay: two spawned API processes compete for that.
    platform = await startTestPlatform({ env: { REALTIME_RELAY: 'off', TASK_CONCURRENCY: '8' } });
    redis = new Redis(platform.redis.url);
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    await Promise.all([org, other].map(({ slug }) => platform.createUserTable(slug)));
    await Promise.all([startRelayingApi(), startRelayingApi()]);
    await waitFor('an API process to relay the org', leaseHolderPid, 20_000);
  });
  afterAll(async () => {
    for (const api of apis) {
      if (api.child.exitCode === null && api.child.signalCode === null) {
        api.child.kill('SIGTERM');
        await api.waitForExit(20_000);
      }
    }
    redis.disconnect();
    await platform.close();
  });

  it('creates exactly one task per matching inserted row, none for updates, other rows or other orgs', async () => {
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: { name: 'ci rows', table: 'entries', events: ['INSERT'], filter: { updated_by: 'ci' }, task: { type: 'noop' } },
    });
    expect(trigger.status).toBe(201);

    for (let i = 0; i < ROWS; i++) {
      if (i === KILL_AFTER) {
        const pid = (await leaseHolderPid())!;
        apis.find((api) => api.child.pid === pid)!.child.kill('SIGKILL');
      }
      await insert(org.slug, `row-${i}`, 'ci');
    }
    await platform.queryOrgDatabase(org.slug, `UPDATE entries SET value = '2' WHERE key = 'row-1'`);
    await insert(org.slug, 'by-hand', 'alice');
    await insert(other.slug, 'elsewhere', 'ci');

    const tasks = await waitFor(
      `${ROWS} tasks`,
      async () => {
        const { body } = await platform.request('GET', '/v1/tasks?type=noop&limit=200', { token: org.token });
        return body.items.length >= ROWS ? body.items : undefined;
      },
      60_000,
    );
    // Everything the relay stored, replays included, has been through the trigger workers.
    // The tasks append events to the same stream: the group reaches its end once they are done, then they can be counted.
    await platform.waitForQueuesDrained(60_000);
    await waitForConsumerGroupsDrained(redis, `${platform.redis.prefix}:{org:${org.id}}:events`, 60_000);
    await platform.waitForQueuesDrained(60_000);
    const after = (await platform.request('GET', '/v1/tasks?type=noop&limit=200', { token: org.token })).body.items;
    expect(after).toHaveLength(ROWS);
    expect(new Set(tasks.map((task: any) => task.trigger.event.record.key))).toEqual(
      new Set(Array.from({ length: ROWS }, (_, i) => `row-${i}`)),
    );
    expect(after.every((task: any) => task.trigger.event.type === 'INSERT' && task.trigger.event.table === 'entries')).toBe(true);
    const runs = (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs?limit=500`, { token: org.token })).body;
    expect(runs).toHaveLength(ROWS);
    expect((await platform.request('GET', '/v1/tasks?type=noop', { token: other.token })).body.items).toEqual([]);
  }, 120_000);
});

describe('a trigger on a table the org has just made (real WAL, in-process relay)', () => {
  let platform: TestPlatform;
  let redis: Redis;
  /** The platform's log lines, to see a dispatch fail. */
  const logs: { msg: string }[] = [];

  beforeAll(async () => {
    // A relay poll far apart: the org's relay starts seconds after its first table, as on a busy API.
    platform = await startTestPlatform({
      // No reclaim within the test: a change whose handling failed must be tried again by its own consumer.
      env: { REALTIME_RELAY_POLL_MS: '3000', TRIGGER_RECLAIM_AFTER_MS: '600000' },
      logs: { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) },
    });
    redis = new Redis(platform.redis.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await platform.close();
  });

  it('captures the org database changes before it answers, so a row inserted right after fires it exactly once', async () => {
    const org = await platform.createOrg();
    await platform.createUserTable(org.slug, 'fresh_rows');
    const trigger = await platform.request('POST', '/v1/triggers', {
      token: org.token,
      body: { name: 'fresh', table: 'fresh_rows', events: ['INSERT'], task: { type: 'noop' } },
    });
    expect(trigger.status).toBe(201);
    // The slot keeps every change from here on in the WAL, whenever the relay comes to read it.
    const slots = await platform.queryOrgDatabase<{ count: string }>(
      org.slug,
      'SELECT count(*) FROM pg_replication_slots WHERE database = current_database()',
    );
    expect(slots).toEqual([{ count: '1' }]);
    await platform.queryOrgDatabase(org.slug, `INSERT INTO fresh_rows (key, value) VALUES ('first', '1')`);

    const runsOf = async () => (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs`, { token: org.token })).body;
    await waitFor('the trigger to fire', async () => ((await runsOf()).length > 0 ? true : undefined), 60_000);
    await platform.waitForQueuesDrained(60_000);
    await waitForConsumerGroupsDrained(redis, `${platform.redis.prefix}:{org:${org.id}}:events`, 60_000);
    await platform.waitForQueuesDrained(60_000);
    expect(await runsOf()).toEqual([expect.objectContaining({ eventType: 'INSERT' })]);
  }, 120_000);

  it('tries a change whose handling failed again soon, fires once the failure clears, exactly once, and other orgs go on meanwhile', async () => {
    const [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    const triggerOn = async (slug: string, token: string) => {
      await platform.createUserTable(slug, 'flaky_rows');
      const created = await platform.request('POST', '/v1/triggers', {
        token,
        body: { name: 'flaky', table: 'flaky_rows', events: ['INSERT'], task: { type: 'noop' } },
      });
      expect(created.status).toBe(201);
      return created;
    };
    const trigger = await triggerOn(org.slug, org.token);
    const otherTrigger = await triggerOn(other.slug, other.token);
    // The trigger's run cannot be recorded while its table is away: the dispatcher's handling fails after creating the task.
    await platform.queryOrgDatabase(org.slug, 'ALTER TABLE platform.trigger_runs RENAME TO trigger_runs_away');
    const failuresBefore = logs.filter((line) => line.msg === 'trigger dispatch failed; retrying').length;
    await platform.queryOrgDatabase(org.slug, `INSERT INTO flaky_rows (key, value) VALUES ('first', '1')`);
    await waitFor(
      'the dispatch to fail',
      async () => (logs.filter((line) => line.msg === 'trigger dispatch failed; retrying').length > failuresBefore ? true : undefined),
      60_000,
    );
    // The other org's trigger fires while this org's change keeps failing.
    await platform.queryOrgDatabase(other.slug, `INSERT INTO flaky_rows (key, value) VALUES ('elsewhere', '1')`);
    const otherRuns = async () => (await platform.request('GET', `/v1/triggers/${otherTrigger.body.id}/runs`, { token: other.token })).body;
    await waitFor('the other org to be served', async () => ((await otherRuns()).length > 0 ? true : undefined), 60_000);
    await platform.queryOrgDatabase(org.slug, 'ALTER TABLE platform.trigger_runs_away RENAME TO trigger_runs');

    const runsOf = async () => (await platform.request('GET', `/v1/triggers/${trigger.body.id}/runs`, { token: org.token })).body;
    await waitFor('the trigger run to be recorded', async () => ((await runsOf()).length > 0 ? true : undefined), 60_000);
    await platform.waitForQueuesDrained(60_000);
    await waitForConsumerGroupsDrained(redis, `${platform.redis.prefix}:{org:${org.id}}:events`, 60_000);
    await platform.waitForQueuesDrained(60_000);
    await waitForConsumerGroupsDrained(redis, `${platform.redis.prefix}:{org:${other.id}}:events`, 60_000);
    expect(await runsOf()).toHaveLength(1);
    expect(await otherRuns()).toHaveLength(1);
    const tasks = (await platform.request('GET', '/v1/tasks?type=noop', { token: org.token })).body.items;
    expect(tasks.map((task: { trigger: { triggerId: string } }) => task.trigger.triggerId)).toEqual([trigger.body.id]);
  }, 120_000);
});
