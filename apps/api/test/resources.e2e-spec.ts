import { Redis } from 'ioredis';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('resources: pools, environments, leases (real HTTP, Redis, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let redis: Redis;
  let viewer: string;
  let member: string;

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        RESOURCE_SWEEP_INTERVAL_MS: '100',
        RESOURCE_SYNC_INTERVAL_MS: '50',
        TASK_SHELL_ALLOW: 'printenv',
        QUOTA_LEASE_WAITERS_PER_POOL: '9',
      },
    });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    redis = new Redis(platform.env.REDIS_URL!);
    const token = async (role: string) =>
      (await platform.request('POST', '/v1/tokens', { token: org.token, body: { name: role, role } })).body.token as string;
    viewer = await token('viewer');
    member = await token('member');
  });
  afterAll(async () => {
    redis.disconnect();
    await platform.close();
  });

  const call = (method: string, path: string, body?: unknown, token = org.token) => platform.request(method, path, { token, body });

  const poolIds: Record<string, string> = {};
  async function poolWith(name: string, environments: number) {
    const pool = await call('POST', '/v1/pools', { name, kind: 'sandbox' });
    expect(pool.status).toBe(201);
    for (let i = 0; i < environments; i++) {
      expect((await call('POST', `/v1/pools/${name}/environments`, { name: `${name}-${i}`, attributes: { index: i } })).status).toBe(201);
    }
    poolIds[name] = pool.body.id;
    return pool.body;
  }

  /** The org's events on `topic`, oldest first, as the stream holds them. */
  async function events(orgId: string, topic: string) {
    const entries = await redis.xrange(`${platform.env.REDIS_PREFIX}:{org:${orgId}}:events`, '-', '+');
    return entries
      .map(([id, fields]) => {
        const field = (name: string) => fields[fields.indexOf(name) + 1]!;
        return { id, type: field('type'), topic: field('topic'), at: field('at'), data: JSON.parse(field('data')) };
      })
      .filter((event) => event.topic === topic);
  }

  it('creates pools and environments, counts them per status, and refuses bad input with 4xx', async () => {
    const pool = await poolWith('basics', 2);
    expect(pool).toMatchObject({ name: 'basics', kind: 'sandbox', counts: { free: 0, allocated: 0, retired: 0 } });
    expect((await call('POST', '/v1/pools', { name: 'basics', kind: 'sandbox' })).status).toBe(409);
    expect((await call('POST', '/v1/pools/basics/environments', { name: 'basics-0' })).status).toBe(409);

    const bad = await call('POST', '/v1/pools', { name: '', kind: 'x y' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(expect.arrayContaining([expect.stringContaining('name'), expect.stringContaining('kind')]));
    expect((await call('POST', '/v1/pools/basics/environments', { name: 'e', attributes: [1] })).status).toBe(400);
    expect((await call('POST', '/v1/pools/basics/environments', { name: 'e', attributes: { big: 'x'.repeat(20_000) } })).status).toBe(400);
    expect((await call('POST', '/v1/pools/basics/allocations', { holder: 'me', ttlSeconds: 0 })).status).toBe(400);
    expect((await call('POST', '/v1/pools/nope/allocations', { holder: 'me', ttlSeconds: 10 })).status).toBe(404);

    const environments = (await call('GET', '/v1/pools/basics/environments', undefined, viewer)).body.items;
    expect(environments.map((env: any) => env.name)).toEqual(['basics-0', 'basics-1']);
    const [first] = environments;
    const patched = await call('PATCH', `/v1/pools/${pool.id}/environments/${first.id}`, { attributes: { url: 'https://a' } });
    expect(patched).toMatchObject({ status: 200, body: { attributes: { url: 'https://a' }, status: 'free' } });
    expect((await call('DELETE', `/v1/pools/basics/environments/${first.id}`)).body.status).toBe('retired');
    expect((await call('PATCH', `/v1/pools/basics/environments/${first.id}`, { attributes: {} })).status).toBe(409);

    const pools = (await call('GET', '/v1/pools', undefined, viewer)).body;
    expect(pools.find((p: any) => p.name === 'basics').counts).toEqual({ free: 1, allocated: 0, retired: 1 });

    // Roles: viewers read, members lease, admins manage.
    expect((await call('POST', '/v1/pools', { name: 'v', kind: 'k' }, member)).status).toBe(403);
    expect((await call('POST', '/v1/pools/basics/allocations', { holder: 'v', ttlSeconds: 5 }, viewer)).status).toBe(403);
    const lease = await call('POST', '/v1/pools/basics/allocations', { holder: 'm', ttlSeconds: 5 }, member);
    expect(lease.status).toBe(201);
    expect(lease.body).toMatchObject({ holder: 'm', status: 'active', environment: { name: 'basics-1', status: 'allocated' } });
    expect((await call('DELETE', `/v1/pools/basics/environments/${lease.body.environment.id}`)).status).toBe(409);

    // Another org sees none of it.
    expect((await call('GET', '/v1/pools/basics', undefined, other.token)).status).toBe(404);
    expect((await call('GET', `/v1/allocations/${lease.body.id}`, undefined, other.token)).status).toBe(404);
    expect((await call('DELETE', `/v1/allocations/${lease.body.id}`, undefined, other.token)).status).toBe(404);

    expect((await call('DELETE', `/v1/allocations/${lease.body.id}`, undefined, member)).status).toBe(204);
    expect((await call('DELETE', `/v1/allocations/${lease.body.id}`, undefined, member)).status).toBe(409);
    expect((await call('POST', `/v1/allocations/${lease.body.id}/extend`, { ttlSeconds: 5 })).status).toBe(409);
  });

  it('gives 20 environments to exactly 20 of 500 concurrent callers; the other 480 get 409', async () => {
    await poolWith('contended', 20);
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) => call('POST', '/v1/pools/contended/allocations', { holder: `caller-${i}`, ttlSeconds: 60 })),
    );
    const won = answers.filter((answer) => answer.status === 201);
    expect(won).toHaveLength(20);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(480);
    expect(new Set(won.map((answer) => answer.body.environment.id)).size).toBe(20);
    expect((await call('GET', '/v1/pools/contended')).body.counts).toEqual({ free: 0, allocated: 20, retired: 0 });
  });

  it('ends a 1-second lease by itself, frees its environment and says so on the event stream', async () => {
    const pool = await poolWith('short', 1);
    const lease = (await call('POST', '/v1/pools/short/allocations', { holder: 'brief', ttlSeconds: 1 })).body;
    const extended = await call('POST', `/v1/allocations/${lease.id}/extend`, { ttlSeconds: 1 });
    expect(extended.status).toBe(200);
    const expired = await waitFor('the lease to expire', async () => {
      const current = (await call('GET', `/v1/allocations/${lease.id}`)).body;
      return current.status === 'expired' ? current : undefined;
    });
    expect(Date.parse(expired.endedAt)).toBeGreaterThanOrEqual(Date.parse(extended.body.expiresAt));
    expect((await call('GET', '/v1/pools/short')).body.counts).toEqual({ free: 1, allocated: 0, retired: 0 });

    const allocationEvents = await events(org.id, `resource:allocation:${lease.id}`);
    expect(allocationEvents.map((event) => event.data.status)).toEqual(['active', 'active', 'expired']);
    expect(allocationEvents.every((event) => event.type === 'resource.updated')).toBe(true);
    const environmentEvents = await events(org.id, `resource:environment:${lease.environment.id}`);
    expect(environmentEvents.at(-1)!.data).toMatchObject({ status: 'free', name: 'short-0' });
    expect(environmentEvents.at(-1)!.data.allocationId).toBeUndefined();
    const poolEvents = await events(org.id, `resource:pool:${pool.id}`);
    expect(poolEvents.at(-1)!.data.counts).toEqual({ free: 1, allocated: 0, retired: 0 });
  });

  it('queues waiting callers first come, first served, and gives up after waitSeconds with 409', async () => {
    await poolWith('queue', 1);
    const held = (await call('POST', '/v1/pools/queue/allocations', { holder: 'first', ttlSeconds: 60 })).body;
    const timedOut = await call('POST', '/v1/pools/queue/allocations', { holder: 'impatient', ttlSeconds: 60, waitSeconds: 1 });
    expect(timedOut.status).toBe(409);

    const early = call('POST', '/v1/pools/queue/allocations', { holder: 'early', ttlSeconds: 60, waitSeconds: 20 });
    await waitFor('the early waiter to queue', async () => ((await redis.llen(waitersKey('queue'))) === 1 ? true : undefined));
    const late = call('POST', '/v1/pools/queue/allocations', { holder: 'late', ttlSeconds: 60, waitSeconds: 20 });
    await waitFor('the late waiter to queue', async () => ((await redis.llen(waitersKey('queue'))) === 2 ? true : undefined));

    expect((await call('DELETE', `/v1/allocations/${held.id}`)).status).toBe(204);
    const earlyLease = await early;
    expect(earlyLease).toMatchObject({ status: 201, body: { holder: 'early', environment: { id: held.environment.id } } });
    expect((await call('DELETE', `/v1/allocations/${earlyLease.body.id}`)).status).toBe(204);
    expect((await late).body).toMatchObject({ holder: 'late', environment: { id: held.environment.id } });
  });

  it('does not count waiting callers against ORG_REQUESTS_IN_FLIGHT_MAX (8): with 8 waiting, a release is answered and hands its environment over', async () => {
    await poolWith('crowd', 1);
    const held = (await call('POST', '/v1/pools/crowd/allocations', { holder: 'first', ttlSeconds: 60 })).body;
    const waiters = Array.from({ length: 8 }, (_, index) =>
      call('POST', '/v1/pools/crowd/allocations', { holder: `waiter-${index}`, ttlSeconds: 60, waitSeconds: 8 }),
    );
    await waitFor('eight waiters to queue', async () => ((await redis.llen(waitersKey('crowd'))) === 8 ? true : undefined));
    // Were the waiters holding the org's places, the release would queue behind them until they gave up with 409.
    const released = call('DELETE', `/v1/allocations/${held.id}`);
    const first = await Promise.race(waiters);
    expect(first).toMatchObject({ status: 201, body: { environment: { id: held.environment.id } } });
    expect((await released).status).toBe(204);
    expect((await Promise.all(waiters)).map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
  }, 60_000);

  it('takes a waiting caller whose connection closed out of the queue: the next release leaves the environment free', async () => {
    await poolWith('gone', 1);
    const held = (await call('POST', '/v1/pools/gone/allocations', { holder: 'first', ttlSeconds: 60 })).body;
    const hangUp = new AbortController();
    const waiting = fetch(`${platform.baseUrl}/v1/pools/gone/allocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ holder: 'gone', ttlSeconds: 600, waitSeconds: 120 }),
      signal: hangUp.signal,
    }).catch((error: Error) => error.name);
    await waitFor('the waiter to queue', async () => ((await redis.llen(waitersKey('gone'))) === 1 ? true : undefined));
    hangUp.abort();
    expect(await waiting).toBe('AbortError');
    await waitFor('the closed waiter to leave the queue', async () => ((await redis.llen(waitersKey('gone'))) === 0 ? true : undefined));
    expect((await call('DELETE', `/v1/allocations/${held.id}`)).status).toBe(204);
    expect((await call('GET', '/v1/pools/gone')).body.counts).toEqual({ free: 1, allocated: 0, retired: 0 });
  });

  it('refuses a tenth waiting caller of one pool with 409 naming QUOTA_LEASE_WAITERS_PER_POOL (9)', async () => {
    await poolWith('full', 1);
    expect((await call('POST', '/v1/pools/full/allocations', { holder: 'first', ttlSeconds: 60 })).status).toBe(201);
    const waiters = Array.from({ length: 9 }, () =>
      call('POST', '/v1/pools/full/allocations', { holder: 'w', ttlSeconds: 60, waitSeconds: 2 }),
    );
    await waitFor('nine waiters to queue', async () => ((await redis.llen(waitersKey('full'))) === 9 ? true : undefined));
    const tenth = await call('POST', '/v1/pools/full/allocations', { holder: 'w', ttlSeconds: 60, waitSeconds: 2 });
    expect(tenth).toMatchObject({ status: 409, body: { limit: 'QUOTA_LEASE_WAITERS_PER_POOL' } });
    expect(tenth.body.message).toContain('QUOTA_LEASE_WAITERS_PER_POOL');
    // One that does not wait is answered as before.
    expect((await call('POST', '/v1/pools/full/allocations', { holder: 'w', ttlSeconds: 60 })).status).toBe(409);
    expect((await Promise.all(waiters)).map((answer) => answer.status)).toEqual(Array.from({ length: 9 }, () => 409));
    expect(await redis.llen(waitersKey('full'))).toBe(0);
  });

  function waitersKey(name: string) {
    return `${platform.env.REDIS_PREFIX}:{org:${org.id}}:res:pool:${poolIds[name]}:waiters`;
  }

  it('lets a task wait for an environment another task holds, passes it in, and releases it when the task ends', async () => {
    await poolWith('builds', 1);
    const holder = (await call('POST', '/v1/tasks', { type: 'sleep', params: { ms: 1500 }, resources: [{ pool: 'builds' }] })).body;
    expect(holder.resources).toEqual([{ pool: 'builds' }]);
    await waitFor('the first task to hold the environment', async () =>
      (await call('GET', '/v1/pools/builds')).body.counts.allocated === 1 ? true : undefined,
    );
    const waiter = (
      await call('POST', '/v1/tasks', {
        type: 'shell',
        params: { command: 'printenv', args: ['PLATFORM_RESOURCE_BUILDS'] },
        resources: [{ pool: 'builds' }],
      })
    ).body;
    await waitFor('the second task to queue for the environment', async () =>
      (await redis.llen(waitersKey('builds'))) === 1 ? true : undefined,
    );
    const done = await waitFor(
      'the second task to run',
      async () => {
        const current = (await call('GET', `/v1/tasks/${waiter.id}`)).body;
        return ['SUCCESS', 'FAILED'].includes(current.status) ? current : undefined;
      },
      20_000,
    );
    expect(done.status).toBe('SUCCESS');
    expect((await call('GET', `/v1/tasks/${holder.id}`)).body.status).toBe('SUCCESS');
    const logs = (await call('GET', `/v1/tasks/${waiter.id}/logs`)).body.items.map((log: any) => log.chunk).join('');
    expect(logs).toContain('builds-0');
    await waitFor('the environment to be free again', async () =>
      (await call('GET', '/v1/pools/builds')).body.counts.free === 1 ? true : undefined,
    );

    const missing = (await call('POST', '/v1/tasks', { type: 'noop', resources: [{ pool: 'no-such-pool' }] })).body;
    const failed = await waitFor('the task naming no pool to fail', async () => {
      const current = (await call('GET', `/v1/tasks/${missing.id}`)).body;
      return current.status === 'FAILED' ? current : undefined;
    });
    expect(failed.error).toBe('no resource pool no-such-pool');
  });

  it('writes the current state and the allocation history to the org database', async () => {
    const pool = await poolWith('durable', 2);
    const lease = (await call('POST', '/v1/pools/durable/allocations', { holder: 'keeper', ttlSeconds: 30 })).body;
    await call('POST', `/v1/allocations/${lease.id}/extend`, { ttlSeconds: 60 });
    const released = (await call('POST', '/v1/pools/durable/allocations', { holder: 'passer', ttlSeconds: 30 })).body;
    await call('DELETE', `/v1/allocations/${released.id}`);

    const history = await waitFor('the history rows', async () => {
      const rows = await platform.queryOrgDatabase(
        org.slug,
        'SELECT allocation_id, holder, action FROM resource_allocation_history WHERE pool_id = $1 ORDER BY rev',
        [pool.id],
      );
      return rows.length === 4 ? rows : undefined;
    });
    expect(history).toEqual([
      { allocation_id: lease.id, holder: 'keeper', action: 'allocated' },
      { allocation_id: lease.id, holder: 'keeper', action: 'extended' },
      { allocation_id: released.id, holder: 'passer', action: 'allocated' },
      { allocation_id: released.id, holder: 'passer', action: 'released' },
    ]);
    const environments = await platform.queryOrgDatabase(
      org.slug,
      'SELECT name, status, allocation_id FROM resource_environments WHERE pool_id = $1 ORDER BY name',
      [pool.id],
    );
    expect(environments).toEqual([
      { name: 'durable-0', status: 'allocated', allocation_id: lease.id },
      { name: 'durable-1', status: 'free', allocation_id: null },
    ]);
    const allocations = await platform.queryOrgDatabase(
      org.slug,
      'SELECT id, status, expires_at FROM resource_allocations WHERE pool_id = $1',
      [pool.id],
    );
    expect(Object.fromEntries(allocations.map((row) => [row.id, row.status]))).toEqual({ [lease.id]: 'active', [released.id]: 'released' });
    const [pools] = await platform.queryOrgDatabase(org.slug, 'SELECT name, kind FROM resource_pools WHERE id = $1', [pool.id]);
    expect(pools).toEqual({ name: 'durable', kind: 'sandbox' });
  });
});
