import { Module } from '@nestjs/common';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { AuditLogRepository } from './audit-log.repository.js';
import { AuditLogService } from './audit-log.service.js';

/** The org audit log: rows in each org database, announced on its event stream. */
@Module({ imports: [RegistryModule, RealtimeModule], providers: [AuditLogRepository, AuditLogService], exports: [AuditLogService] })
export class AuditModule {}
