import 'reflect-metadata';
import { provideInfrastructure, runProcess } from '#libs/runtime';
import { startApi } from './start-api.js';

await runProcess('api', async (context) => {
  const config = await provideInfrastructure(context);
  await startApi({ ...context, config });
});
