import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';

/** Injection token of the process's pino logger. */
export const PROCESS_LOGGER = Symbol('PROCESS_LOGGER');

/** Makes the process's pino logger injectable (`@Inject(PROCESS_LOGGER)`). */
@Global()
@Module({})
export class LoggerModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: LoggerModule, providers: [{ provide: PROCESS_LOGGER, useValue: logger }], exports: [PROCESS_LOGGER] };
  }
}
