import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('resource subscriptions over Socket.IO (real gateway, Redis)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let socket: TestSocket;

  beforeAll(async () => {
    platform = await startTestPlatform();
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    socket = await connectRealtime(platform.baseUrl, org.token);
  });
  afterAll(async () => {
    socket.close();
    await platform.close();
  });

  it("answers with the pool's snapshot, streams its changes, and refuses another org's pool", async () => {
    const pool = (await platform.request('POST', '/v1/pools', { token: org.token, body: { name: 'sandboxes', kind: 'sandbox' } })).body;
    await platform.request('POST', `/v1/pools/${pool.id}/environments`, { token: org.token, body: { name: 'sandbox-1' } });

    const all = await socket.subscribe({ topic: 'resource' });
    expect(all.ok).toBe(true);
    expect(all.snapshot.pools).toEqual([expect.objectContaining({ id: pool.id, counts: expect.objectContaining({ free: 1 }) })]);
    const one = await socket.subscribe({ topic: 'resource', id: `pool:${pool.id}` });
    expect(one.snapshot).toMatchObject({
      pool: { id: pool.id },
      environments: [expect.objectContaining({ name: 'sandbox-1', status: 'free' })],
    });

    const lease = (
      await platform.request('POST', `/v1/pools/${pool.id}/allocations`, { token: org.token, body: { holder: 'ci', ttlSeconds: 60 } })
    ).body;
    const events = await socket.waitForEvents(1, (event) => event.topic === `resource:pool:${pool.id}`);
    expect(events[0]).toMatchObject({ type: 'resource.updated', org: org.id });
    expect((await socket.subscribe({ topic: 'resource', id: `allocation:${lease.id}` })).snapshot.allocation).toMatchObject({
      id: lease.id,
    });

    const theirs = (await platform.request('POST', '/v1/pools', { token: other.token, body: { name: 'theirs', kind: 'sandbox' } })).body;
    expect(await socket.subscribe({ topic: 'resource', id: `pool:${theirs.id}` })).toMatchObject({ ok: false, error: 'not_found' });
  });
});
