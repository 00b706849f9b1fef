import { parse as parseQueryString } from 'node:querystring';
import type { FastifyInstance } from 'fastify';

/** A malformed body: 400 with the parser's message (the exception filter answers it in the usual shape). */
function badBody(error: Error): Error {
  return Object.assign(error, { status: 400, statusCode: 400, expose: true });
}

/**
 * A JSON body as the API has always read it: empty is `{}`, and only an object or an array
 * is JSON here (a bare string, number or null is refused like malformed JSON, with the
 * message JSON.parse gives for the first character). Keys such as `__proto__` stay plain
 * own keys, refused by name by the validation pipe.
 */
export function parseJsonBody(body: string): unknown {
  if (body.length === 0) return {};
  const first = /^[ \t\n\r]*(.)/s.exec(body)?.[1];
  if (first !== '{' && first !== '[') throw badBody(strictViolation(body, first));
  try {
    return JSON.parse(body);
  } catch (error) {
    throw badBody(error as Error);
  }
}

/** The SyntaxError JSON.parse gives at the first character that cannot start an object or an array. */
function strictViolation(body: string, first: string | undefined): Error {
  const index = first === undefined ? -1 : body.indexOf(first);
  const partial = index === -1 ? '' : body.slice(0, index) + '#'.repeat(body.length - index);
  try {
    JSON.parse(partial);
    return new SyntaxError('strict violation');
  } catch (error) {
    const syntax = error as Error;
    syntax.message = syntax.message.replace(/#+/g, (placeholder) => body.slice(index, index + placeholder.length));
    return syntax;
  }
}

/**
 * The request bodies the API reads, up to `bodyLimit` bytes (past it, 413): JSON (see
 * `parseJsonBody`) and URL-encoded forms. A body of any other type (or none) is not read
 * and the route sees no body, so it is validated as an empty one, never answered 415.
 */
export function registerBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) =>
    done(null, { ...parseQueryString(body as string) }),
  );
  app.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume();
    done(null, undefined);
  });
}
