import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request over node:http, so any method, path, header and body goes out exactly as written. */
function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString() }),
      );
    })
      .once('error', reject)
      .end(body);
  });
}

const json = (answer: RawAnswer): unknown => JSON.parse(answer.text);

/** The edges of the HTTP contract that come from the HTTP stack rather than from a route: paths, bodies, errors. */
describe('HTTP edges (real HTTP, Postgres, Redis)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const withToken = () => ({ authorization: `Bearer ${org.token}` });
  const withJson = () => ({ ...withToken(), 'content-type': 'application/json' });

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { CONFIG_VALUE_MAX_BYTES: '1024', DOCUMENT_MAX_BYTES: '2048' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('matches paths in any letter case and with a trailing slash, not with a doubled slash, and answers HEAD as GET without a body', async () => {
    for (const path of ['/health/live', '/health/live/', '/HEALTH/live']) {
      const answer = await send(platform.baseUrl, 'GET', path, {});
      expect([path, answer.status, json(answer)]).toEqual([path, 200, { status: 'ok' }]);
    }
    expect((await send(platform.baseUrl, 'GET', '//health/live', {})).status).toBe(404);
    const head = await send(platform.baseUrl, 'HEAD', '/health/live', {});
    expect([head.status, head.headers['content-length'], head.text]).toEqual([200, '15', '']);
  });

  it('sends no X-Powered-By and no ETag of its own, and a request id on every answer', async () => {
    const answer = await send(platform.baseUrl, 'GET', '/health/live', {});
    expect(answer.headers['x-powered-by']).toBeUndefined();
    expect(answer.headers.etag).toBeUndefined();
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes and methods, and paths it cannot decode, in the error shape', async () => {
    const unknown = await send(platform.baseUrl, 'DELETE', '/health/live', {});
    expect([unknown.status, json(unknown)]).toEqual([404, { statusCode: 404, error: 'Not Found', message: 'Cannot DELETE /health/live' }]);
    const undecodable = await send(platform.baseUrl, 'GET', '/v1/tasks/%E0%A4%A', withToken());
    expect([undecodable.status, json(undecodable)]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: expect.stringContaining('%E0%A4%A') },
    ]);
    expect(undecodable.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses malformed JSON, and JSON that is neither an object nor an array, with 400 and the parser message', async () => {
    const malformed = await send(platform.baseUrl, 'POST', '/v1/tasks', withJson(), '{"type": ');
    expect([malformed.status, json(malformed)]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: 'Unexpected end of JSON input' },
    ]);
    const bare = await send(platform.baseUrl, 'POST', '/v1/tasks', withJson(), 'null');
    expect([bare.status, json(bare)]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: `Unexpected token 'n', "null" is not valid JSON` },
    ]);
  });

  it('validates an empty JSON body, or a body of another type, as an empty body: 400 naming the fields, never 415', async () => {
    const missingType = ['type must be longer than or equal to 1 characters', 'type must be a string'];
    for (const [headers, body] of [
      [{ ...withJson(), 'content-length': '0' }, ''],
      [{ ...withToken(), 'content-type': 'text/plain' }, 'hello'],
      [withToken(), '{"type":"echo"}'],
    ] as const) {
      const answer = await send(platform.baseUrl, 'POST', '/v1/tasks', headers, body);
      expect([answer.status, json(answer)]).toEqual([400, { statusCode: 400, error: 'Bad Request', message: missingType }]);
    }
    // A route that takes no body does not mind an empty one.
    const cancel = await send(platform.baseUrl, 'POST', '/v1/tasks/00000000-0000-0000-0000-000000000000/cancel', {
      ...withJson(),
      'content-length': '0',
    });
    expect(cancel.status).toBe(404);
  });

  it('refuses inherited keys by name, and repeated query keys as the list they are', async () => {
    const proto = await send(platform.baseUrl, 'POST', '/v1/tasks', withJson(), '{"__proto__":{"x":1},"type":"echo"}');
    expect([proto.status, json(proto)]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: ['__proto__ is not an allowed key'] },
    ]);
    const repeated = await send(platform.baseUrl, 'GET', '/v1/tasks?status=QUEUED&status=FAILED', withToken());
    expect(repeated.status).toBe(400);
  });

  it('answers a body past the limit 413 in the error shape, and an oversize value within it 400 naming the limit', async () => {
    const huge = await send(platform.baseUrl, 'PUT', '/v1/config/k', withJson(), JSON.stringify({ value: 'x'.repeat(200_000) }));
    expect([huge.status, json(huge)]).toEqual([413, { statusCode: 413, error: 'Payload Too Large', message: 'request entity too large' }]);
    const oversize = await send(platform.baseUrl, 'PUT', '/v1/config/k', withJson(), JSON.stringify({ value: 'x'.repeat(2000) }));
    expect([oversize.status, json(oversize)]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: ['value must be at most 1024 bytes of JSON'] },
    ]);
  });

  it('lets a route check its own parameters, however long', async () => {
    const answer = await send(platform.baseUrl, 'GET', `/v1/config/${'x'.repeat(201)}`, withToken());
    expect(answer.status).toBe(400);
  });
});
