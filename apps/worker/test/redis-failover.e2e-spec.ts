import { RedisKeys } from '#libs/redis';
import {
  startTestRedisCluster,
  startTestRedisSentinels,
  TEST_FAILOVER_TIMEOUT_MS,
  waitFor,
  type TestRedisCluster,
  type TestRedisSentinels,
} from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';
import { connectRealtime } from '../../api/test/realtime-clients.js';

/**
 * Short periods so the platform's own repairs (stalled jobs, outbox hand-offs) happen within a
 * test's patience. The job lock still outlasts a failover (TEST_FAILOVER_TIMEOUT_MS plus the
 * election), as it must in production (BullMQ: lockDuration above the longest expected
 * pause): a lock that lapses while Redis fails over makes BullMQ count the job of a live
 * worker as stalled, and twice fails it.
 */
const FAST = {
  TASK_OUTBOX_RECONCILE_INTERVAL_MS: '200',
  TASK_OUTBOX_GRACE_MS: '1000',
  QUEUE_LOCK_DURATION_MS: String(TEST_FAILOVER_TIMEOUT_MS * 8),
  HISTORY_RETRY_INTERVAL_MS: '200',
  TASK_CONCURRENCY: '8',
};
const FINAL = ['SUCCESS', 'FAILED', 'CANCELLED'];
/** Tasks created before, during and after the primary dies. */
const TASKS = 120;

/**
 * Creates `TASKS` tasks, one every few milliseconds, while `fail` kills a primary part way
 * through; each is created as a careful client does (asked again with its idempotency key
 * while the platform answers 5xx or not at all). Then checks that every key led to exactly
 * one task that finished with SUCCESS and exactly one history row, after draining, and that
 * a socket subscribed before the failover still receives the org's events after it.
 */
async function taskLoadAcrossFailover(platform: TestPlatform, org: CreatedOrg, fail: () => Promise<void>): Promise<void> {
  const run = `run-${Date.now()}`;
  // A client subscribed from before the failover keeps getting the org's events after it.
  const socket = await connectRealtime(platform.baseUrl, org.token);
  try {
    expect((await socket.subscribe({ topic: 'tasks' })).ok).toBe(true);
    await loadAcross(platform, org, run, fail);
    const after = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    expect(after.status).toBe(201);
    await socket.waitForEvents(1, (event) => event.topic === `task:${after.body.id}` && event.data.status === 'SUCCESS', 60_000);
  } finally {
    socket.close();
  }
}

async function loadAcross(platform: TestPlatform, org: CreatedOrg, run: string, fail: () => Promise<void>): Promise<void> {
  const create = async (key: string): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await platform
        .request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 20 }, idempotencyKey: key } })
        .catch(() => undefined);
      if (answer && (answer.status === 200 || answer.status === 201)) return answer.body.id as string;
      if (answer && answer.status < 500) throw new Error(`creating ${key} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      if (attempt >= 300) throw new Error(`no task for ${key} after ${attempt} attempts`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const keys = Array.from({ length: TASKS }, (_, i) => `${run}-${i}`);
  const created: Promise<string>[] = [];
  let failed: Promise<void> | undefined;
  for (const [i, key] of keys.entries()) {
    if (i === TASKS / 3) failed = fail();
    created.push(create(key));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await failed;
  const ids = await Promise.all(created);

  // A task whose creation the old primary acknowledged but never passed on to its replica is gone:
  // the careful client sees 404 and asks again with the same key, which creates it anew.
  const finalIds = await Promise.all(
    keys.map((key, i) =>
      waitFor(
        `task ${key} to finish`,
        async () => {
          const { status, body } = await platform.request('GET', `/v1/tasks/${ids[i]}`, { token: org.token });
          if (status === 404) ids[i] = await create(key);
          return FINAL.includes(body?.status) ? { id: ids[i]!, status: body.status as string } : undefined;
        },
        120_000,
      ),
    ),
  );
  expect(finalIds.filter((task) => task.status !== 'SUCCESS')).toEqual([]);
  await platform.waitForQueuesDrained(120_000);
  const rows = await platform.queryOrgDatabase<{ idempotency_key: string; status: string }>(
    org.slug,
    'SELECT idempotency_key, status FROM tasks WHERE idempotency_key LIKE $1',
    [`${run}-%`],
  );
  expect(rows).toHaveLength(TASKS);
  expect(new Set(rows.map((row) => row.idempotency_key))).toEqual(new Set(keys));
  expect(rows.every((row) => row.status === 'SUCCESS')).toBe(true);
}

describe('Redis failover under task load: the platform recovers without a restart (real cluster, real sentinels)', () => {
  describe('Redis Cluster: the primary holding the org’s keys is killed', () => {
    let cluster: TestRedisCluster;
    let platform: TestPlatform;
    let org: CreatedOrg;

    beforeAll(async () => {
      cluster = await startTestRedisCluster(3);
      platform = await startTestPlatform({ redis: cluster.testRedis(), env: FAST });
      org = await platform.createOrg();
    }, 120_000);
    afterAll(async () => {
      await platform?.close();
      await cluster?.stop();
    });

    it('finishes every task exactly once after its replica takes over', async () => {
      const key = platform.api.get(RedisKeys).orgEvents(org.id);
      const victim = await cluster.primaryOf(key);
      await taskLoadAcrossFailover(platform, org, async () => {
        await cluster.kill(victim);
        await waitFor(
          'a replica to take over the org’s slot',
          async () => ((await cluster.primaryOf(key)) !== victim ? true : undefined),
          60_000,
        );
      });
    }, 300_000);
  });

  describe('Sentinel: the managed primary is killed', () => {
    let sentinels: TestRedisSentinels;
    let platform: TestPlatform;
    let org: CreatedOrg;

    beforeAll(async () => {
      sentinels = await startTestRedisSentinels();
      platform = await startTestPlatform({ redis: sentinels.testRedis(), env: FAST });
      org = await platform.createOrg();
    }, 120_000);
    afterAll(async () => {
      await platform?.close();
      await sentinels?.stop();
    });

    it('runs tasks through the primary the sentinels name', async () => {
      const { body } = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
      await waitFor('the task to finish', async () =>
        (await platform.request('GET', `/v1/tasks/${body.id}`, { token: org.token })).body.status === 'SUCCESS' ? true : undefined,
      );
    });

    it('finishes every task exactly once after the sentinels promote the replica', async () => {
      const victim = sentinels.primary.port;
      await taskLoadAcrossFailover(platform, org, async () => {
        await sentinels.kill(victim);
        await waitFor(
          'the sentinels to promote the replica',
          async () => ((await sentinels.currentPrimary()) !== victim ? true : undefined),
          60_000,
        );
      });
    }, 300_000);
  });
});
