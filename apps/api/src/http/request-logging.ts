import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

declare module 'http' {
  interface IncomingMessage {
    /** The request id `requestLogging` gave the request. */
    id?: string;
  }
}

const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTED_REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Probes and scrapes that would drown the log. */
const UNLOGGED = new Set(['/health/live', '/metrics']);

/**
 * Logs one JSON line per request with a request id: the caller's `X-Request-Id` when
 * it is sane, else a new UUID, echoed back in the response so a report can be traced.
 * 5xx and aborted requests log at error, 4xx at warn, the rest at info. Nothing is
 * serialised unless the line is written (a per-request child logger cost more CPU than
 * the rest of a cheap route), and headers are never logged, so credentials cannot leak.
 */
export function requestLogging(logger: Logger) {
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const given = request.headers[REQUEST_ID_HEADER];
    const id = typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
    request.id = id;
    response.setHeader(REQUEST_ID_HEADER, id);
    const url = request.url ?? '';
    if (!UNLOGGED.has(url)) {
      const started = performance.now();
      response.once('close', () => {
        const completed = response.writableFinished;
        const status = response.statusCode;
        const level = !completed || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        if (!logger.isLevelEnabled(level)) return;
        logger[level](
          {
            req: { id, method: request.method, url, remoteAddress: request.socket.remoteAddress },
            res: { statusCode: status },
            responseTime: Math.round(performance.now() - started),
          },
          completed ? 'request completed' : 'request aborted',
        );
      });
    }
    next();
  };
}
