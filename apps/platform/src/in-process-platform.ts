import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import type { PlatformConfig } from '#libs/config';
import { PinoNestLogger, type Logger } from '#libs/logging';
import { createApiApp } from '../../api/src/create-api-app.js';
import { WorkerModule } from '../../worker/src/worker.module.js';

export interface InProcessPlatform {
  api: INestApplication;
  worker?: INestApplicationContext;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The API on a free port of 127.0.0.1 and, if asked, a worker, in this process: what the
 * end-to-end tests and the benchmarks drive. The control plane must be migrated already.
 */
export async function startInProcessPlatform(
  config: PlatformConfig,
  logger: Logger,
  options: { withWorker: boolean },
): Promise<InProcessPlatform> {
  let worker: INestApplicationContext | undefined;
  if (options.withWorker) {
    worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
    await worker.init();
  }
  const api = await createApiApp(config, logger);
  await api.listen(0, '127.0.0.1');
  return {
    api,
    worker,
    baseUrl: `http://127.0.0.1:${(api.getHttpServer().address() as AddressInfo).port}`,
    async close() {
      await api.close();
      await worker?.close();
    },
  };
}
