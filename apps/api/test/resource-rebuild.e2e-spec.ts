import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '#libs/logging';
import { findOrStartRedis, type RunningRedis } from '#libs/runtime';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('resources after Redis is lost (FLUSHALL on a Redis of its own, then a restart)', () => {
  let scratch: string;
  let ownRedis: RunningRedis;
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'resource-rebuild-'));
    ownRedis = await findOrStartRedis({
      probeUrl: 'redis://127.0.0.1:1',
      dataDir: join(scratch, 'redis'),
      logger: createLogger('test', 'silent'),
    });
    platform = await startTestPlatform({ env: { REDIS_URL: ownRedis.url, RESOURCE_SYNC_INTERVAL_MS: '50' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
    await ownRedis.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const answer = await platform.request(method, path, { token: org.token, body });
    if (answer.status >= 400) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  /** Everything a client can read of the org's resources. */
  async function state(leaseIds: string[]) {
    const pools = await call('GET', '/v1/pools');
    const environments = await Promise.all(pools.map((pool: any) => call('GET', `/v1/pools/${pool.id}/environments`)));
    const leases = await Promise.all(leaseIds.map((id) => call('GET', `/v1/allocations/${id}`)));
    return { pools, environments, leases };
  }

  it('rebuilds pools, environments and live leases with their expiry from Postgres, and carries on', async () => {
    await call('POST', '/v1/pools', { name: 'sandboxes', kind: 'sandbox' });
    await call('POST', '/v1/pools', { name: 'databases', kind: 'database' });
    for (const name of ['s1', 's2', 's3'])
      await call('POST', '/v1/pools/sandboxes/environments', { name, attributes: { region: 'eu', name } });
    const retired = await call('POST', '/v1/pools/databases/environments', { name: 'd1' });
    await call('POST', '/v1/pools/databases/environments', { name: 'd2', attributes: { size: 2 } });
    await call('DELETE', `/v1/pools/databases/environments/${retired.id}`);
    const long = await call('POST', '/v1/pools/sandboxes/allocations', { holder: 'long', ttlSeconds: 3600 });
    const short = await call('POST', '/v1/pools/sandboxes/allocations', { holder: 'short', ttlSeconds: 600 });
    const db = await call('POST', '/v1/pools/databases/allocations', { holder: 'db', ttlSeconds: 900 });
    const gone = await call('POST', '/v1/pools/sandboxes/allocations', { holder: 'gone', ttlSeconds: 900 });
    await call('DELETE', `/v1/allocations/${gone.id}`);
    const live = [long.id, short.id, db.id];
    const before = await state(live);

    const client = new Redis(ownRedis.url);
    const changes = `${platform.env.REDIS_PREFIX}:{org:${org.id}}:res:changes`;
    await waitFor('every change to be in Postgres', async () => ((await client.xlen(changes)) === 0 ? true : undefined));
    await platform.close({ keepData: true });
    await client.flushall();
    expect(await client.dbsize()).toBe(0);
    client.disconnect();

    platform = await startTestPlatform({ restartOf: platform });
    expect(await state(live)).toEqual(before);

    // It carries on: the one free sandbox is handed out, and then none is.
    const next = await call('POST', '/v1/pools/sandboxes/allocations', { holder: 'after', ttlSeconds: 60 });
    expect([long, short].map((lease) => lease.environment.id)).not.toContain(next.environment.id);
    const none = await platform.request('POST', '/v1/pools/sandboxes/allocations', {
      token: org.token,
      body: { holder: 'x', ttlSeconds: 60 },
    });
    expect(none.status).toBe(409);
    await call('DELETE', `/v1/allocations/${short.id}`);
    expect((await call('GET', '/v1/pools/sandboxes')).counts).toEqual({ free: 1, allocated: 2, retired: 0 });
  });
});
