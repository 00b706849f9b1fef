import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { logRequests, requestId } from './request-logging.js';

/** A real Fastify server with the hooks, logging into memory; each route answers the status in its path. */
async function serve(level: string) {
  const lines: Record<string, unknown>[] = [];
  const waiting: { count: number; resolve(): void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      for (const waiter of waiting.filter((w) => lines.length >= w.count)) waiter.resolve();
      done();
    },
  });
  /** Resolves once `count` lines were written (a line is written when the response closes, which may follow the client's receipt). */
  const untilLines = (count: number) =>
    new Promise<void>((resolve) => (lines.length >= count ? resolve() : waiting.push({ count, resolve })));
  const server = new FastifyAdapter({ genReqId: requestId }).getInstance() as unknown as FastifyInstance;
  logRequests(server, pino({ level }, sink));
  server.get('/*', (req, reply) => reply.code(Number(req.url.split('/').pop()) || 200).send({}));
  await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`, lines, untilLines };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; requestId: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (response) => {
      response.resume();
      response.on('end', () =>
        resolve({ status: response.statusCode!, requestId: response.headers['x-request-id'] as string | undefined }),
      );
    })
      .once('error', reject)
      .end();
  });
}

describe('logRequests', () => {
  let served: Awaited<ReturnType<typeof serve>>;
  afterEach(async () => {
    await served.server.close();
  });

  it('logs one line per request at info, warn for 4xx and error for 5xx, with the request id and never the headers', async () => {
    served = await serve('info');
    await get(`${served.url}/v1/things/200`, { authorization: 'Bearer secret-token', 'x-request-id': 'trace-1' });
    await get(`${served.url}/v1/things/404`);
    await get(`${served.url}/v1/things/503`);
    await served.untilLines(3);

    expect(served.lines.map((line) => [line.level, (line.res as { statusCode: number }).statusCode, line.msg])).toEqual([
      [30, 200, 'request completed'],
      [40, 404, 'request completed'],
      [50, 503, 'request completed'],
    ]);
    expect(served.lines[0]!.req).toMatchObject({ id: 'trace-1', method: 'GET', url: '/v1/things/200' });
    expect(JSON.stringify(served.lines)).not.toContain('secret-token');
  });

  it('leaves the liveness probe and metrics scrapes out of the log but still gives them a request id', async () => {
    served = await serve('info');
    const probe = await get(`${served.url}/health/live`);
    await get(`${served.url}/metrics`);
    await get(`${served.url}/v1/things/200`);
    await served.untilLines(1);

    expect(probe.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(served.lines.map((line) => (line.req as { url: string }).url)).toEqual(['/v1/things/200']);
  });

  it('writes nothing below the configured level', async () => {
    served = await serve('warn');
    await get(`${served.url}/v1/things/200`);
    await get(`${served.url}/v1/things/409`);
    await served.untilLines(1);

    expect(served.lines.map((line) => (line.res as { statusCode: number }).statusCode)).toEqual([409]);
  });
});
