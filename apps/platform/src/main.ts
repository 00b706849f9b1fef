import 'reflect-metadata';
import { provideInfrastructure, runProcess } from '#libs/runtime';
import { startApi } from '../../api/src/start-api.js';
import { startWorker } from '../../worker/src/start-worker.js';

// `npm start`: the API and a worker in one process, sharing the infrastructure it provides.
await runProcess('platform', async (context) => {
  const config = await provideInfrastructure(context);
  await startWorker({ ...context, config });
  await startApi({ ...context, config });
});
