import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** Per-org count quotas (409) and request rates (429): atomic under concurrency, and every refusal names its setting. */
describe('per-org quotas and request rates', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        QUOTA_POOLS: '2',
        QUOTA_ENVIRONMENTS_PER_POOL: '3',
        QUOTA_SCHEDULES: '2',
        SCHEDULE_MIN_INTERVAL_MS: '60000',
        QUOTA_WEBHOOKS: '2',
        QUOTA_TRIGGERS: '1',
        QUOTA_TOKENS: '3',
      },
    });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
  });
  afterAll(async () => {
    await platform.close();
  });

  const post = (path: string, body: unknown, token = org.token) => platform.request('POST', path, { token, body });
  const conflictNaming = (limit: string) => ({
    status: 409,
    body: expect.objectContaining({ statusCode: 409, limit, message: expect.stringContaining(limit) }),
  });

  it('creates exactly QUOTA_SCHEDULES of 10 concurrent schedules, refusing the rest with 409 QUOTA_SCHEDULES', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) => post('/v1/schedules', { name: `s${index}`, everyMs: 60_000, task: { type: 'noop' } })),
    );
    expect(answers.filter(({ status }) => status === 201)).toHaveLength(2);
    for (const refused of answers.filter(({ status }) => status !== 201)) expect(refused).toEqual(conflictNaming('QUOTA_SCHEDULES'));
    expect((await platform.request('GET', '/v1/schedules', { token: org.token })).body).toHaveLength(2);
    // Another org's quota is its own.
    expect((await post('/v1/schedules', { name: 'mine', everyMs: 60_000, task: { type: 'noop' } }, other.token)).status).toBe(201);
  });

  it('refuses schedules ticking more often than SCHEDULE_MIN_INTERVAL_MS, by everyMs or by cron', async () => {
    const every = await post('/v1/schedules', { name: 'fast', everyMs: 1000, task: { type: 'noop' } }, other.token);
    expect(every.status).toBe(400);
    expect(every.body.message).toEqual(['everyMs must be at least 60000 (SCHEDULE_MIN_INTERVAL_MS)']);
    const cron = await post('/v1/schedules', { name: 'burst', cron: '*/10 * * * * *', task: { type: 'noop' } }, other.token);
    expect(cron.status).toBe(400);
    expect(cron.body.message).toEqual([expect.stringContaining('SCHEDULE_MIN_INTERVAL_MS')]);
  });

  it('caps pools, environments per pool, webhooks, triggers and usable tokens, naming each limit', async () => {
    const pools = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((name) => post('/v1/pools', { name, kind: 'k' })));
    expect(pools.filter(({ status }) => status === 201)).toHaveLength(2);
    for (const refused of pools.filter(({ status }) => status !== 201)) expect(refused).toEqual(conflictNaming('QUOTA_POOLS'));

    const pool = pools.find(({ status }) => status === 201)!.body;
    const environments = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => post(`/v1/pools/${pool.id}/environments`, { name })));
    expect(environments.filter(({ status }) => status === 201)).toHaveLength(3);
    for (const refused of environments.filter(({ status }) => status !== 201))
      expect(refused).toEqual(conflictNaming('QUOTA_ENVIRONMENTS_PER_POOL'));
    // A name already taken is still the name conflict, not the quota.
    expect((await post(`/v1/pools/${pool.id}/environments`, { name: 'a' })).body.limit).toBeUndefined();

    const webhook = { url: 'https://hooks.example.com/x', events: ['task.failed'], secret: 's'.repeat(20) };
    const webhooks = await Promise.all([1, 2, 3, 4].map(() => post('/v1/webhooks', webhook)));
    expect(webhooks.filter(({ status }) => status === 201)).toHaveLength(2);
    for (const refused of webhooks.filter(({ status }) => status !== 201)) expect(refused).toEqual(conflictNaming('QUOTA_WEBHOOKS'));

    await platform.queryOrgDatabase(org.slug, 'CREATE TABLE public.quota_items (id int PRIMARY KEY)');
    const trigger = { name: 't', table: 'quota_items', events: ['INSERT'], task: { type: 'noop' } };
    const triggers = await Promise.all([1, 2, 3].map(() => post('/v1/triggers', trigger)));
    expect(triggers.filter(({ status }) => status === 201)).toHaveLength(1);
    for (const refused of triggers.filter(({ status }) => status !== 201)) expect(refused).toEqual(conflictNaming('QUOTA_TRIGGERS'));

    // The org's first admin token is one of its 3 usable tokens.
    const tokens = await Promise.all([1, 2, 3, 4].map((n) => post('/v1/tokens', { name: `t${n}`, role: 'viewer' })));
    expect(tokens.filter(({ status }) => status === 201)).toHaveLength(2);
    for (const refused of tokens.filter(({ status }) => status !== 201)) expect(refused).toEqual(conflictNaming('QUOTA_TOKENS'));
    // A revoked token no longer counts.
    const revoked = tokens.find(({ status }) => status === 201)!.body.id as string;
    expect((await platform.request('DELETE', `/v1/tokens/${revoked}`, { token: org.token })).status).toBe(204);
    expect((await post('/v1/tokens', { name: 'again', role: 'viewer' })).status).toBe(201);
  });
});

describe('per-org and per-token request rates', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    // Rates low enough that a burst passes them within one window however slow this machine is.
    platform = await startTestPlatform({ env: { RATE_LIMIT_TOKEN_PER_SECOND: '2', RATE_LIMIT_ORG_PER_SECOND: '3' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('answers 429 naming RATE_LIMIT_TOKEN_PER_SECOND, then RATE_LIMIT_ORG_PER_SECOND across tokens, with Retry-After', async () => {
    const burst = async (token: string, count: number) =>
      Promise.all(
        Array.from({ length: count }, () =>
          fetch(`${platform.baseUrl}/v1/workers`, { headers: { authorization: `Bearer ${token}` } }).then(async (response) => ({
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            body: (await response.json()) as { limit?: string },
          })),
        ),
      );
    const single = await burst(org.token, 30);
    const limited = single.filter(({ status }) => status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(single.filter(({ status }) => status !== 429 && status !== 200)).toEqual([]);
    for (const answer of limited) {
      expect(answer.body.limit).toBe('RATE_LIMIT_TOKEN_PER_SECOND');
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    }

    // Two more tokens of the org: each passes 2 a second, the org only 3 of their 4.
    const newToken = (name: string) =>
      waitFor(`token ${name} once the window turned`, async () => {
        const answer = await platform.request('POST', '/v1/tokens', { token: org.token, body: { name, role: 'viewer' } });
        return answer.status === 201 ? (answer.body.token as string) : undefined;
      });
    const first = await newToken('r1');
    const second = await newToken('r2');
    const both = (await Promise.all([burst(first, 20), burst(second, 20)])).flat();
    const byOrg = both.filter(({ status }) => status === 429);
    expect(byOrg.length).toBeGreaterThan(0);
    expect(new Set(byOrg.map(({ body }) => body.limit))).toContain('RATE_LIMIT_ORG_PER_SECOND');
  });
});

/**
 * Leaves `org` owing its rate window: a pool of four environments of 12 kB, then the list of
 * them (48 points at RATE_LIMIT_RESPONSE_BYTES_PER_POINT 1024) right after a request
 * admitted in a window with room, against RATE_LIMIT_ORG_PER_SECOND 20.
 */
async function overdraw(platform: TestPlatform, org: CreatedOrg): Promise<void> {
  /** The request's answer once the org's rate lets it through (the answers here overdraw it). */
  const admitted = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    waitFor(`${method} ${path} within the org's rate`, async () => {
      const answer = await platform.request(method, path, { token: org.token, body });
      return answer.status === 429 ? undefined : answer;
    });
  expect((await admitted('POST', '/v1/pools', { name: 'big', kind: 'k' })).status).toBe(201);
  for (const name of ['a', 'b', 'c', 'd']) {
    const created = await admitted('POST', '/v1/pools/big/environments', { name, attributes: { blob: 'x'.repeat(12_000) } });
    expect(created.status).toBe(201);
  }
  // A window with room in it: two small requests, nowhere near 20 points.
  expect((await admitted('GET', '/v1/pools')).status).toBe(200);
  const list = await fetch(`${platform.baseUrl}/v1/pools/big/environments?limit=500`, {
    headers: { authorization: `Bearer ${org.token}` },
  });
  expect(list.status).toBe(200);
  expect((await list.arrayBuffer()).byteLength).toBeGreaterThan(48_000);
}

const RESPONSE_RATES = { RATE_LIMIT_ORG_PER_SECOND: '20', RATE_LIMIT_RESPONSE_BYTES_PER_POINT: '1024' };

describe("an answer's size against the request rates", () => {
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { ...RESPONSE_RATES, RATE_LIMIT_REFUSAL_HOLD_MS: '0' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('takes a point per RATE_LIMIT_RESPONSE_BYTES_PER_POINT of a long list, refusing the next requests as they arrive until the debt is paid', async () => {
    await overdraw(platform, org);

    // The list's 48 points overdrew the org's 20 by 28 or more: its window stays closed at least 1.4 s past its end.
    const next = await fetch(`${platform.baseUrl}/v1/pools`, { headers: { authorization: `Bearer ${org.token}` } });
    expect(next.status).toBe(429);
    expect(((await next.json()) as { limit: string }).limit).toBe('RATE_LIMIT_ORG_PER_SECOND');
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);

    // Refused as it arrives, before its body is read: a malformed one gets the same 429, not a 400.
    const malformed = await fetch(`${platform.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: '{"type":',
    });
    expect(malformed.status).toBe(429);
    expect(await malformed.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      limit: 'RATE_LIMIT_ORG_PER_SECOND',
      message: expect.stringContaining('RATE_LIMIT_ORG_PER_SECOND'),
    });
    expect(Number(malformed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('refusals held until the rate window reopens', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;

  beforeAll(async () => {
    // One held refusal per org at most, however long its window stays closed.
    platform = await startTestPlatform({ env: { ...RESPONSE_RATES, RATE_LIMIT_REFUSAL_HOLD_MS: '60000', ORG_REQUESTS_QUEUE_MAX: '1' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('answers a request sent while refused once the window reopens, and past ORG_REQUESTS_QUEUE_MAX held ones at once', async () => {
    await overdraw(platform, org);
    const ask = () =>
      fetch(`${platform.baseUrl}/v1/pools`, { headers: { authorization: `Bearer ${org.token}` } }).then(async (response) => ({
        status: response.status,
        limit: ((await response.json()) as { limit?: string }).limit,
      }));
    const refused = { status: 429, limit: 'RATE_LIMIT_ORG_PER_SECOND' };
    // Two at once: one is held, the other (past the one held) is answered at once.
    const pair = [ask(), ask()];
    expect(await Promise.race(pair)).toEqual(refused);
    // The window is still closed and the one place taken: refused at once too.
    expect(await ask()).toEqual(refused);
    expect(await Promise.all(pair)).toEqual([refused, refused]);
    // Held until the window reopened: the next request is admitted.
    expect((await platform.request('GET', '/v1/pools', { token: org.token })).status).toBe(200);
  });
});
