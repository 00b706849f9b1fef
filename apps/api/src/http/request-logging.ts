import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTED_REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Probes and scrapes that would drown the log. */
const UNLOGGED = new Set(['/health/live', '/metrics']);

/** The request's id (Fastify's `genReqId`): the caller's `X-Request-Id` when it is sane, else a new UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Logs one JSON line per request with its id (see `requestId`), echoed back in the
 * response so a report can be traced. 5xx and aborted requests log at error, 4xx at
 * warn, the rest at info. Nothing is serialised unless the line is written (a
 * per-request child logger cost more CPU than the rest of a cheap route), and headers
 * are never logged, so credentials cannot leak. The line is written when the response
 * closes, so a request the client gave up on is logged too.
 */
export function logRequests(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', (request, reply, done) => {
    const id = request.id;
    void reply.header(REQUEST_ID_HEADER, id);
    const url = request.raw.url ?? '';
    if (!UNLOGGED.has(url)) {
      const started = performance.now();
      const response = reply.raw;
      response.once('close', () => {
        const completed = response.writableFinished;
        const status = response.statusCode;
        const level = !completed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        if (!logger.isLevelEnabled(level)) return;
        logger[level](
          {
            req: { id, method: request.method, url, remoteAddress: request.raw.socket.remoteAddress },
            res: { statusCode: status },
            responseTime: Math.round(performance.now() - started),
          },
          completed ? 'request completed' : 'request aborted',
        );
      });
    }
    done();
  });
}
