import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '#libs/logging';
import { ResourceService } from '#libs/resources';
import { findFreePort, startEmbeddedPostgres, type RunningPostgres } from '#libs/runtime';
import { waitFor, waitForConsumerGroupsDrained } from '#libs/testing';
import { startTestPlatform, type TestPlatform } from '../../api/test/platform-harness.js';

describe('resource write-behind while Postgres is down', () => {
  let scratch: string;
  let postgres: RunningPostgres | undefined;
  let platform: TestPlatform;
  let redis: Redis;

  afterAll(async () => {
    redis?.disconnect();
    await platform?.close().catch(() => undefined);
    await postgres?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('loses nothing: changes made while it is stopped are all written, in order, once it is back', async () => {
    // A Postgres of this test's own, so stopping it harms no other test.
    scratch = await mkdtemp(join(tmpdir(), 'pg-resources-'));
    await chmod(scratch, 0o755);
    const port = await findFreePort();
    const start = () =>
      startEmbeddedPostgres({
        dataDir: join(scratch, 'postgres'),
        port,
        logger: createLogger('test', 'silent'),
        settings: { fsync: 'off' },
      });
    postgres = await start();
    const controlPlane = Object.assign(new URL(postgres.url), { pathname: '/postgres' }).toString();
    platform = await startTestPlatform({
      env: { RESOURCE_SYNC_INTERVAL_MS: '50', CONNECT_TIMEOUT_MS: '1000' },
      controlPlaneServerUrl: controlPlane,
    });
    redis = new Redis(platform.env.REDIS_URL!);
    const org = await platform.createOrg();
    const request = (method: string, path: string, body?: unknown) => platform.request(method, path, { token: org.token, body });
    const pool = (await request('POST', '/v1/pools', { name: 'outage', kind: 'sandbox' })).body;
    await request('POST', '/v1/pools/outage/environments', { name: 'e1' });
    const rows = (sql: string) => platform.queryOrgDatabase(org.slug, sql).catch(() => []);
    await waitFor('the pool in Postgres', async () =>
      (await rows('SELECT id FROM resource_environments')).length === 1 ? true : undefined,
    );

    await postgres.stop();
    postgres = undefined;
    // Redis is authoritative: leases go on without Postgres (the API cannot check tokens now, so use the service).
    const resources = platform.worker!.get(ResourceService);
    const first = await resources.allocate(org.id, 'outage', { holder: 'a', ttlSeconds: 60 });
    await resources.extend(org.id, first.id, 120);
    await resources.release(org.id, first.id);
    const second = await resources.allocate(org.id, 'outage', { holder: 'b', ttlSeconds: 60 });
    // The writer has read them and could not write them: they wait, unacknowledged.
    const changes = `${platform.env.REDIS_PREFIX}:{org:${org.id}}:res:changes`;
    await waitFor('the writer to try and fail', async () => {
      const [pending] = (await redis.xpending(changes, 'resource-sync')) as [number];
      return pending > 0 ? true : undefined;
    });

    postgres = await start();
    const history = await waitFor(
      'every change in Postgres',
      async () => {
        const found = await rows('SELECT allocation_id, holder, action FROM resource_allocation_history ORDER BY rev');
        return found.length === 4 ? found : undefined;
      },
      30_000,
    );
    expect(history).toEqual([
      { allocation_id: first.id, holder: 'a', action: 'allocated' },
      { allocation_id: first.id, holder: 'a', action: 'extended' },
      { allocation_id: first.id, holder: 'a', action: 'released' },
      { allocation_id: second.id, holder: 'b', action: 'allocated' },
    ]);
    expect(await rows('SELECT status, allocation_id FROM resource_environments')).toEqual([
      { status: 'allocated', allocation_id: second.id },
    ]);
    await waitFor('the change stream to drain', async () => ((await redis.xlen(changes)) === 0 ? true : undefined));
    await waitForConsumerGroupsDrained(redis, changes);
    // The pool as it is now, after every change: its one environment is leased to b.
    const now = (await request('GET', '/v1/pools')).body.find((entry: any) => entry.id === pool.id);
    expect(now.counts).toEqual({ free: 0, allocated: 1, retired: 0 });
    expect((await request('GET', `/v1/allocations/${second.id}`)).body).toMatchObject({ id: second.id, holder: 'b' });
  });
});
