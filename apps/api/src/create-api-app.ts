import { HttpStatus } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import { maxHeaderSize } from 'node:http';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { fromProjectRoot, type PlatformConfig } from '#libs/config';
import { PinoNestLogger, type Logger } from '#libs/logging';
import { ApiModule } from './api.module.js';
import { errorBody, HttpExceptionFilter } from './http/http-exception.filter.js';
import { registerBodyParsers } from './http/body-parsers.js';
import { PayloadValidationPipe } from './http/payload-validation.pipe.js';
import { logRequests, requestId } from './http/request-logging.js';
import { HttpRequestMetrics } from './metrics/http-request.metrics.js';
import { RequestRateLimits } from './http/request-rate-limits.js';
import { EarlyRateRefusal } from './auth/early-rate-refusal.js';

/** Builds the HTTP API with its global validation, error shape, request logs and OpenAPI docs; not yet listening. */
export async function createApiApp(config: PlatformConfig, logger: Logger): Promise<NestFastifyApplication> {
  // Room for the largest stored value (its JSON, escaped twice over at worst), so an oversize value
  // reaches its route and is answered 400 with the documented limit rather than 413 here.
  const bodyLimit = 2 * Math.max(config.CONFIG_VALUE_MAX_BYTES, config.DOCUMENT_MAX_BYTES) + 65_536;
  const adapter = new FastifyAdapter({
    bodyLimit,
    genReqId: requestId,
    // Node's own timeouts, which the API has always had (Fastify's defaults keep idle sockets 72 s
    // and never time a request out).
    keepAliveTimeout: 5_000,
    requestTimeout: 300_000,
    // A path the router cannot decode is refused before any hook or filter runs: the same answer shape.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? HttpStatus.BAD_REQUEST;
      void reply.header('x-request-id', request.id).code(status).send(errorBody(status, error.message));
    },
    trustProxy: config.TRUST_PROXY ? trustProxySetting(config.TRUST_PROXY) : false,
    routerOptions: {
      // Paths match as they always have: any letter case, with or without a trailing slash.
      caseSensitive: false,
      ignoreTrailingSlash: true,
      // Route parameters are checked by their routes (a config key over its length is a 400 naming
      // the rule); the request line, bounded by Node's header size, is the only bound here.
      maxParamLength: maxHeaderSize,
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    // A failed start-up must reach the caller (one clear line, servers stopped), not exit the process here.
    abortOnError: false,
    // The parsers are registered below, to answer as documented.
    bodyParser: false,
  });
  // Fastify sends no X-Powered-By and no ETag of its own: only versioned entries (config, documents)
  // carry one, set by their routes, which also answer If-None-Match themselves.
  const instance = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  // Declared up front, so every request object keeps one shape (set by the auth guard and the audit interceptor).
  instance.decorateRequest('principal', undefined);
  instance.decorateRequest('auditTrail', undefined);
  logRequests(instance, logger);
  app.get(HttpRequestMetrics).register(instance);
  app.get(RequestRateLimits).register(instance);
  app.get(EarlyRateRefusal).register(instance);
  registerBodyParsers(instance, bodyLimit);
  // The operator console, built by `npm run build` (Vite) into dist/console: static files, no CDN. One
  // route per file (the build is fixed once started), and index.html at /console with or without its slash.
  const consoleDir = fromProjectRoot('dist/console');
  if (existsSync(consoleDir)) app.useStaticAssets({ root: consoleDir, prefix: '/console', index: 'index.html', wildcard: false });
  app.useGlobalPipes(new PayloadValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new HttpExceptionFilter(logger));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Platform server API')
      .setDescription('Tasks on workers, environment pools, an isolated database per organization.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/**
 * TRUST_PROXY as Fastify's `trustProxy` takes it: a boolean, the addresses themselves, or for a
 * hop count the nearest that many hops (Fastify trusts no hop for a bare number).
 */
function trustProxySetting(value: string): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === 'true' || value === 'false') return value === 'true';
  if (!/^\d+$/.test(value)) return value;
  const hops = Number(value);
  return (_address, hop) => hop < hops;
}
