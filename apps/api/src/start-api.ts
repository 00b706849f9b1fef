import type { ProcessContext } from '#libs/runtime';
import { createApiApp } from './create-api-app.js';

/** Creates the API and listens on HOST:PORT; closing it is registered with the lifecycle. */
export async function startApi({ config, logger, lifecycle }: ProcessContext): Promise<void> {
  const app = await createApiApp(config, logger);
  lifecycle.onStop('API', () => app.close());
  await app.listen(config.PORT, config.HOST);
  logger.info({ url: `http://${config.HOST}:${config.PORT}` }, `API listening on http://${config.HOST}:${config.PORT}`);
}
