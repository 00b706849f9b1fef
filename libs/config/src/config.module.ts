import { Global, Module, type DynamicModule } from '@nestjs/common';
import { PlatformConfig } from './platform-config.js';

/** Makes the validated PlatformConfig injectable everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: PlatformConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: PlatformConfig, useValue: config }], exports: [PlatformConfig] };
  }
}
