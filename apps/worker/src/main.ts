import 'reflect-metadata';
import { provideInfrastructure, runProcess } from '#libs/runtime';
import { startWorker } from './start-worker.js';

await runProcess('worker', async (context) => {
  const config = await provideInfrastructure(context);
  await startWorker({ ...context, config });
});
