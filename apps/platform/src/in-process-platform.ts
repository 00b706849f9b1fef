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
      // Bounded as a platform process bounds its shutdown (SHUTDOWN_TIMEOUT_MS), where it then
      // exits: whatever still hangs is given up on, with the same error line.
      let deadline: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timed out'>((resolve) => {
        deadline = setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS, 'timed out');
        deadline.unref();
      });
      const closed = (async () => {
        await api.close();
        await worker?.close();
      })();
      try {
        if ((await Promise.race([closed, timedOut])) === 'timed out')
          logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown timed out; giving up on it');
      } finally {
        clearTimeout(deadline);
      }
    },
  };
}
