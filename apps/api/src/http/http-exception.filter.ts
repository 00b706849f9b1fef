import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  ConflictError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
} from '#libs/contracts';
import { STATUS_CODES } from 'node:http';
import { isRedisUnavailable } from '#libs/redis';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  /** The setting whose limit refused the request (quotas and rate limits). */
  limit?: string;
}

/** Socket errors, and Postgres' "cannot connect now" classes (08: connection exception, 57P: operator intervention). */
const OUTAGE_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|08\w{3}|57P\d{2})$/;

/**
 * 503s closer together than this belong to one outage: only the first is logged. During an
 * outage every request fails the same way, and a stack per request would bury the cause.
 */
const OUTAGE_QUIET_MS = 60_000;

/** Postgres or Redis could not serve the request now (down, or Redis failing over): the same request succeeds later. */
function isDependencyOutage(exception: unknown): boolean {
  const { code, message } = (exception ?? {}) as { code?: unknown; message?: unknown };
  return (
    isRedisUnavailable(exception) ||
    (typeof code === 'string' && OUTAGE_CODES.test(code)) ||
    (typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect/.test(message))
  );
}

/** Fastify's refusal of a body past the limit, as the adapter hands it over (wrapped in an HttpException) or bare. */
function isBodyTooLarge(exception: unknown): boolean {
  const { code, cause } = (exception ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  return code === 'FST_ERR_CTP_BODY_TOO_LARGE' || cause?.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
}

/** An error answer's body: the status, its reason phrase and the message. */
export function errorBody(statusCode: number, message: string | string[]): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/** The body of a rate limit's 429, `limit` naming the setting that refused. */
export function rateLimitedBody(error: RateLimitedError): ErrorBody & { limit: string } {
  return { ...errorBody(HttpStatus.TOO_MANY_REQUESTS, error.message), limit: error.limit };
}

/** A rate limit's Retry-After for a wait of `retryAfterMs`: whole seconds, at least one. */
export function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

/**
 * Answers every error as `{ statusCode, error, message }`. The domain's refusals
 * (not found, conflict, invalid input, failed precondition) map to 404, 409, 400 and 412 here (a used-up quota is a
 * 409 and a rate limit a 429 with Retry-After, both with `limit` naming the setting), once for every route. Client errors raised below
 * Nest (a malformed JSON body, a body too large: 413 `request entity too large`) keep their 4xx status; anything
 * unexpected is logged with its request id and answered 500 without internals; an
 * unreachable database, or Redis unreachable or failing over, is 503, so clients and load
 * balancers know to retry, logged once per outage as a warning naming its cause.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  /** When the last outage 503 was answered. */
  private lastOutageAt = 0;

  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const reply = context.getResponse<FastifyReply>();
    const request = context.getRequest<FastifyRequest>();
    const body = this.toBody(exception);
    if (exception instanceof RateLimitedError) void reply.header('retry-after', retryAfterSeconds(exception.retryAfterMs));
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE && isDependencyOutage(exception)) {
      this.noteOutage(exception, request);
    } else if (body.statusCode >= HttpStatus.INTERNAL_SERVER_ERROR) {
      this.logger.error({ err: exception, reqId: request.id, url: request.originalUrl }, 'request failed');
    }
    if (!reply.sent && !reply.raw.headersSent) void reply.code(body.statusCode).send(body);
  }

  private noteOutage(exception: unknown, request: FastifyRequest): void {
    const now = Date.now();
    const ongoing = now - this.lastOutageAt < OUTAGE_QUIET_MS;
    this.lastOutageAt = now;
    if (ongoing) return;
    const { code, message } = exception as { code?: unknown; message?: unknown };
    const cause = [code, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
    this.logger.warn({ cause, reqId: request.id, url: request.originalUrl }, 'a database is unreachable; answering 503 until it is back');
  }

  private toBody(exception: unknown): ErrorBody {
    if (isBodyTooLarge(exception)) return errorBody(HttpStatus.PAYLOAD_TOO_LARGE, 'request entity too large');
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const answer = exception.getResponse();
      const fields = typeof answer === 'object' ? (answer as Partial<ErrorBody>) : { message: answer };
      return {
        statusCode: status,
        error: fields.error ?? STATUS_CODES[status] ?? 'Error',
        message: fields.message ?? exception.message,
      };
    }
    if (exception instanceof InvalidInputError) return errorBody(HttpStatus.BAD_REQUEST, exception.problems);
    if (exception instanceof NotFoundError) return errorBody(HttpStatus.NOT_FOUND, exception.message);
    if (exception instanceof LimitExceededError) return { ...errorBody(HttpStatus.CONFLICT, exception.message), limit: exception.limit };
    if (exception instanceof RateLimitedError) return rateLimitedBody(exception);
    if (exception instanceof ConflictError) return errorBody(HttpStatus.CONFLICT, exception.message);
    if (exception instanceof PreconditionFailedError) return errorBody(HttpStatus.PRECONDITION_FAILED, exception.message);
    const status = (exception as { status?: unknown; expose?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return errorBody(status, (exception as Error).message);
    }
    if (isDependencyOutage(exception)) return errorBody(HttpStatus.SERVICE_UNAVAILABLE, 'a database is unreachable; try again');
    return errorBody(HttpStatus.INTERNAL_SERVER_ERROR, 'internal server error');
  }
}
