import { Module, type DynamicModule } from '@nestjs/common';
import { SessionTokens } from '#libs/auth';
import { ConfigModule, type PlatformConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { LoggerModule, type Logger } from '#libs/logging';
import { RedisModule } from '#libs/redis';
import { RegistryModule } from '#libs/registry';
import { EncryptionKeyRotation } from './encryption-key-rotation.service.js';
import { OrgBackupService } from './org-backup.service.js';
import { OrgStatusService } from './org-status.service.js';

/** The operations CLI: an application context over the registry, no HTTP and no queue processors. */
@Module({})
export class OpsModule {
  static forRoot(config: PlatformConfig, logger: Logger): DynamicModule {
    return {
      module: OpsModule,
      imports: [ConfigModule.forRoot(config), LoggerModule.forRoot(logger), DatabaseModule, RedisModule, RegistryModule],
      providers: [EncryptionKeyRotation, OrgBackupService, OrgStatusService, SessionTokens],
    };
  }
}
