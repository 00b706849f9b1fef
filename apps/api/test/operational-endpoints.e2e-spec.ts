import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { findOrStartRedis, type RunningRedis } from '#libs/runtime';
import { createLogger } from '#libs/logging';
import { startTestPlatform, type TestPlatform } from './platform-harness.js';

describe('operational endpoints (real HTTP, Postgres, Redis)', () => {
  let api: TestPlatform;

  beforeAll(async () => {
    api = await startTestPlatform({ withWorker: false });
  });
  afterAll(async () => {
    await api.close();
  });

  it('GET /health/live answers 200', async () => {
    const response = await fetch(`${api.baseUrl}/health/live`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 with Postgres and Redis up', async () => {
    const response = await fetch(`${api.baseUrl}/health/ready`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; details: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(body.details.postgres?.status).toBe('up');
    expect(body.details.redis?.status).toBe('up');
  });

  it('GET /metrics serves Prometheus text with HTTP and process metrics', async () => {
    await fetch(`${api.baseUrl}/health/ready`);
    const response = await fetch(`${api.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status_code="200"\} \d+/);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('GET /docs serves the OpenAPI document describing the routes', async () => {
    const page = await fetch(`${api.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
    const document = (await (await fetch(`${api.baseUrl}/docs/openapi.json`)).json()) as { openapi: string; paths: object };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
  });

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await fetch(`${api.baseUrl}/health/live`, { headers: { 'x-request-id': 'trace-42' } });
    expect(given.headers.get('x-request-id')).toBe('trace-42');
    const invented = await fetch(`${api.baseUrl}/health/live`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(invented.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with the JSON error shape', async () => {
    const response = await fetch(`${api.baseUrl}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /v1/nothing-here' });
  });

  it('answers a malformed JSON body with 400, not 500', async () => {
    const response = await fetch(`${api.baseUrl}/health/live`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken": ',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { statusCode: number; error: string };
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });
});

describe('GET /health/ready with Redis down', () => {
  let scratch: string;
  let redis: RunningRedis;
  let api: TestPlatform;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ready-'));
    // A Redis of this test's own (the probe points nowhere), so stopping it harms no other test.
    redis = await findOrStartRedis({
      probeUrl: 'redis://127.0.0.1:1',
      dataDir: join(scratch, 'redis'),
      logger: createLogger('test', 'silent'),
    });
    api = await startTestPlatform({ withWorker: false, env: { REDIS_URL: redis.url, HEALTH_CHECK_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await api.api.close();
    await api.database.drop();
    await redis.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('answers 503 and names Redis as the failing part', async () => {
    expect((await fetch(`${api.baseUrl}/health/ready`)).status).toBe(200);
    await redis.stop();

    const response = await fetch(`${api.baseUrl}/health/ready`);

    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; error: Record<string, unknown>; details: Record<string, { status: string }> };
    expect(body.status).toBe('error');
    expect(Object.keys(body.error)).toEqual(['redis']);
    expect(body.details.postgres?.status).toBe('up');
    expect(body.details.redis?.status).toBe('down');
  });
});
