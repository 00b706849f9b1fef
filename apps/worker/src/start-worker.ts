import { NestFactory } from '@nestjs/core';
import { type ProcessContext } from '#libs/runtime';
import { PinoNestLogger } from '#libs/logging';
import { WorkerModule } from './worker.module.js';

/** Starts the worker's processors; closing them is registered with the lifecycle. */
export async function startWorker({ config, logger, lifecycle }: ProcessContext): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  lifecycle.onStop('worker', () => app.close());
  await app.init();
  logger.info('worker started');
}
