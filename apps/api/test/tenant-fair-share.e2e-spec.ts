import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const FLOOD = 120;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { limit?: string; message: string };
}

/**
 * Org `noisy` sends FLOOD reads of its database at once while org `quiet` makes ten reads
 * and ten task creates one after another; returns what each got.
 */
async function flood(platform: TestPlatform, noisy: CreatedOrg, quiet: CreatedOrg): Promise<{ answers: Answer[]; served: number[] }> {
  const answers = Promise.all(
    Array.from({ length: FLOOD }, () =>
      fetch(`${platform.baseUrl}/v1/config?limit=100`, { headers: { authorization: `Bearer ${noisy.token}` } }).then(
        async (response): Promise<Answer> => ({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body: (await response.json()) as Answer['body'],
        }),
      ),
    ),
  );
  const served: number[] = [];
  for (let index = 0; index < 10; index++) {
    served.push((await platform.request('GET', '/v1/config', { token: quiet.token })).status);
    served.push((await platform.request('POST', '/v1/tasks', { token: quiet.token, body: { type: 'noop' } })).status);
  }
  return { answers: await answers, served };
}

/** Every refusal is a 429 with Retry-After naming `limit`, at least one request was refused and at least `served` were answered. */
function expectRefusedBy(answers: Answer[], limit: string, served: number): void {
  const refused = answers.filter((answer) => answer.status !== 200);
  expect(refused.length).toBeGreaterThan(0);
  for (const answer of refused) {
    expect(answer).toMatchObject({ status: 429, retryAfter: '1', body: { limit } });
    expect(answer.body.message).toContain(limit);
  }
  expect(answers.length - refused.length).toBeGreaterThanOrEqual(served);
}

/** One org floods the API; the caps that keep it to its own share refuse it by name, and the other org is served as usual. */
describe('fair share between orgs: requests in progress per org', () => {
  let platform: TestPlatform;
  let noisy: CreatedOrg;
  let quiet: CreatedOrg;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        ORG_REQUESTS_IN_FLIGHT_MAX: '4',
        ORG_REQUESTS_QUEUE_MAX: '4',
        // One connection per org, which the admitted requests wait for, holding their places.
        ORG_POOL_MAX: '1',
        ORG_POOL_QUEUE_MAX: '1000',
        REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG: '2',
        REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND: '40',
      },
    });
    [noisy, quiet] = [await platform.createOrg(), await platform.createOrg()];
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  it("refuses one org's requests past ORG_REQUESTS_QUEUE_MAX by name, serves those that waited, and serves the other org", async () => {
    const { answers, served } = await flood(platform, noisy, quiet);
    expect(served).toEqual(Array.from({ length: 10 }, () => [200, 201]).flat());
    // The four in progress and the four that waited their turn at least were answered.
    expectRefusedBy(answers, 'ORG_REQUESTS_QUEUE_MAX', 8);
    // The places are given back: the flooding org is served again once its requests are answered.
    expect((await platform.request('GET', '/v1/config', { token: noisy.token })).status).toBe(200);
  });

  it("answers the other org's subscribe while one org's burst waits its turn, and sets up every subscribe of the burst", async () => {
    const flooding = await connectRealtime(platform.baseUrl, noisy.token);
    const other = await connectRealtime(platform.baseUrl, quiet.token);
    sockets.push(flooding, other);
    const answered: string[] = [];
    const burst = Promise.all(
      Array.from({ length: 100 }, () =>
        flooding.socket
          .timeout(60_000)
          .emitWithAck('subscribe', { topic: 'tasks' })
          .then((answer: { ok: boolean }) => {
            answered.push('noisy');
            return answer;
          }),
      ),
    );
    const quietAnswer = await other.subscribe({ topic: 'tasks' });
    answered.push('quiet');

    expect(quietAnswer).toMatchObject({ ok: true });
    const burstAnswers = await burst;
    expect(burstAnswers.every((answer) => answer.ok)).toBe(true);
    // At 40 a second the burst spans three of its org's seconds; the other org's subscribe is answered within the first.
    expect(answered.indexOf('quiet')).toBeLessThanOrEqual(40);
    expect(answered.filter((who) => who === 'noisy')).toHaveLength(100);
  });
});

describe('fair share between orgs: subscribes weighed by their snapshots', () => {
  let platform: TestPlatform;
  const sockets: TestSocket[] = [];

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  it("makes one org's next subscribe wait for the rate its large snapshot used, while the other org's is answered", async () => {
    platform = await startTestPlatform({
      env: {
        REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND: '4',
        REALTIME_SNAPSHOT_BYTES_PER_SUBSCRIBE_POINT: '1024',
        REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG: '1',
      },
    });
    const [noisy, quiet] = [await platform.createOrg(), await platform.createOrg()];
    expect((await platform.request('POST', '/v1/pools', { token: noisy.token, body: { name: 'big', kind: 'test' } })).status).toBe(201);
    for (let index = 0; index < 20; index++) {
      const body = { name: `env-${index}`, attributes: { blob: 'x'.repeat(1_000) } };
      expect((await platform.request('POST', '/v1/pools/big/environments', { token: noisy.token, body })).status).toBe(201);
    }
    const flooding = await connectRealtime(platform.baseUrl, noisy.token);
    const other = await connectRealtime(platform.baseUrl, quiet.token);
    sockets.push(flooding, other);

    // About 20 KiB of snapshot: 1 point for the turn and 20 for the bytes, five seconds of a 4-a-second rate.
    const big = await flooding.subscribe({ topic: 'resource', id: 'pool:big' });
    expect(big).toMatchObject({ ok: true, snapshot: { environments: expect.any(Array) } });
    expect(big.snapshot.environments).toHaveLength(20);
    const answered: string[] = [];
    // Without the snapshot's weight this would be the second of the org's four subscribes in this second, answered at once.
    const next = flooding.subscribe({ topic: 'tasks' }).then((answer) => {
      answered.push('noisy');
      return answer;
    });
    const quietAnswer = await other.subscribe({ topic: 'tasks' });
    answered.push('quiet');

    expect(quietAnswer).toMatchObject({ ok: true });
    expect(await next).toMatchObject({ ok: true });
    expect(answered).toEqual(['quiet', 'noisy']);
  });
});

describe('fair share between orgs: requests waiting for an org database', () => {
  let platform: TestPlatform;

  afterAll(async () => {
    await platform.close();
  });

  it("refuses one org's requests past ORG_POOL_QUEUE_MAX by name, while the other org's are served from its own pool", async () => {
    platform = await startTestPlatform({
      env: { ORG_REQUESTS_IN_FLIGHT_MAX: '1000', ORG_POOL_MAX: '1', ORG_POOL_QUEUE_MAX: '2' },
    });
    const [noisy, quiet] = [await platform.createOrg(), await platform.createOrg()];
    const { answers, served } = await flood(platform, noisy, quiet);
    expect(served).toEqual(Array.from({ length: 10 }, () => [200, 201]).flat());
    // The one connection's holder and the two that waited for it at least were answered.
    expectRefusedBy(answers, 'ORG_POOL_QUEUE_MAX', 3);
    expect((await platform.request('GET', '/v1/config', { token: noisy.token })).status).toBe(200);
  });
});
