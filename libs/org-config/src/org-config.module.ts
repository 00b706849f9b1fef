import { Module } from '@nestjs/common';
import { AuditModule } from '#libs/audit';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { ConfigEntryRepository } from './config-entry.repository.js';
import { OrgConfigService } from './org-config.service.js';

/** The org configuration store: `config_entries` in each org database, live on the `config` topic. */
@Module({
  imports: [RegistryModule, RealtimeModule, AuditModule],
  providers: [ConfigEntryRepository, OrgConfigService],
  exports: [OrgConfigService],
})
export class OrgConfigModule {}
