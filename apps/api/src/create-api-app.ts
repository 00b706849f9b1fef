import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { fromProjectRoot, type PlatformConfig } from '#libs/config';
import { PinoNestLogger, type Logger } from '#libs/logging';
import { ApiModule } from './api.module.js';
import { HttpExceptionFilter } from './http/http-exception.filter.js';
import { PayloadValidationPipe } from './http/payload-validation.pipe.js';
import { requestLogging } from './http/request-logging.js';

/** Builds the HTTP API with its global validation, error shape, request logs and OpenAPI docs; not yet listening. */
export async function createApiApp(config: PlatformConfig, logger: Logger): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    // A failed start-up must reach the caller (one clear line, servers stopped), not exit the process here.
    abortOnError: false,
  });
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  // No ETag hashed over every JSON body: only versioned entries (config, documents) carry one, set by
  // their routes, which also answer If-None-Match themselves; the hash cost every response a SHA-1.
  app.set('etag', false);
  if (config.TRUST_PROXY) app.set('trust proxy', trustProxySetting(config.TRUST_PROXY));
  app.use(requestLogging(logger));
  // Room for the largest stored value (its JSON, escaped twice over at worst), so an oversize value
  // reaches its route and is answered 400 with the documented limit rather than 413 here.
  app.useBodyParser('json', { limit: 2 * Math.max(config.CONFIG_VALUE_MAX_BYTES, config.DOCUMENT_MAX_BYTES) + 65_536 });
  // The operator console, built by `npm run build` (Vite) into dist/console: static files, no CDN.
  const consoleDir = fromProjectRoot('dist/console');
  if (existsSync(consoleDir)) app.useStaticAssets(consoleDir, { prefix: '/console', index: 'index.html' });
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

/** TRUST_PROXY as Express wants it: a boolean, a hop count, or the addresses themselves. */
function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}
