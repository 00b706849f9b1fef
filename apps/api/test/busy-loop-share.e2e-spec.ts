import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const FLOOD = 120;

/** The value of the unlabelled series `name` in Prometheus text; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/**
 * The event loop's fair share between orgs (ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY): a real API
 * whose loop counts as busy at any load (API_LOOP_BUSY_PERCENT 1), two orgs. A flooding
 * org alone is not held back; with another org active, its requests past its share wait
 * (counted in /metrics) and all are answered, as are all of the other org's.
 */
describe('fair share between orgs: a busy event loop', () => {
  let platform: TestPlatform;
  let noisy: CreatedOrg;
  let quiet: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: { API_LOOP_BUSY_PERCENT: '1', API_LOOP_SAMPLE_MS: '10', ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY: '1' },
    });
    [noisy, quiet] = [await platform.createOrg(), await platform.createOrg()];
  });
  afterAll(async () => {
    await platform.close();
  });

  const held = async () => sample(await (await fetch(`${platform.baseUrl}/metrics`)).text(), 'platform_api_org_requests_held_total');
  /** FLOOD list calls of the noisy org at once; their statuses. */
  const flood = () =>
    Promise.all(
      Array.from({ length: FLOOD }, async () => (await platform.request('GET', '/v1/tasks?limit=100', { token: noisy.token })).status),
    );

  it('does not hold back an org that has the loop to itself', async () => {
    expect(await flood()).toEqual(Array.from({ length: FLOOD }, () => 200));
    expect(await held()).toBe(0);
  });

  it('holds the flooding org past its share while another org is active, and answers every request of both', async () => {
    // The quiet org is active before the flood starts and stays active throughout it.
    expect((await platform.request('GET', '/v1/tasks', { token: quiet.token })).status).toBe(200);
    const answers = flood();
    const served: number[] = [];
    for (let index = 0; index < 10; index++) {
      served.push((await platform.request('GET', '/v1/tasks', { token: quiet.token })).status);
      served.push((await platform.request('POST', '/v1/tasks', { token: quiet.token, body: { type: 'noop' } })).status);
    }
    expect(await answers).toEqual(Array.from({ length: FLOOD }, () => 200));
    expect(served).toEqual(Array.from({ length: 10 }, () => [200, 201]).flat());
    expect(await held()).toBeGreaterThan(0);
  });
});
