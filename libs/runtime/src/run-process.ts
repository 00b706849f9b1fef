import { config as loadDotenv } from 'dotenv';
import { ConfigValidationError, fromProjectRoot, loadPlatformConfig, type PlatformConfig } from '#libs/config';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type Logger } from '#libs/logging';
import { StartupError } from './startup-error.js';

export interface ProcessContext {
  config: PlatformConfig;
  logger: Logger;
  lifecycle: Lifecycle;
}

const FAILED_EXIT_CODE = 1;

/**
 * Runs one platform process: loads and validates configuration, calls `start`, and on
 * SIGTERM/SIGINT stops everything `start` registered, newest first, within
 * SHUTDOWN_TIMEOUT_MS. A failed start-up prints one line and exits non-zero, having
 * stopped whatever it had already started.
 */
export async function runProcess(component: string, start: (context: ProcessContext) => Promise<void>): Promise<void> {
  loadDotenv({ path: fromProjectRoot('.env'), quiet: true });
  let config: PlatformConfig;
  try {
    config = loadPlatformConfig();
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    for (const problem of error.problems) process.stderr.write(`${component}: configuration: ${problem}\n`);
    process.exit(FAILED_EXIT_CODE);
  }

  const logger = createLogger(component, config.LOG_LEVEL);
  const lifecycle = new Lifecycle();
  const stopAll = () => lifecycle.stopAll((name, error) => logger.error({ err: error }, `stopping ${name} failed`));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown timed out; exiting');
      process.exit(FAILED_EXIT_CODE);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    void stopAll().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    await start({ config, logger, lifecycle });
  } catch (error) {
    const message = error instanceof StartupError ? error.message : String((error as Error)?.stack ?? error);
    process.stderr.write(`${component}: ${message}\n`);
    logger.debug({ err: error }, 'start-up failed');
    await stopAll();
    process.exit(FAILED_EXIT_CODE);
  }
}
