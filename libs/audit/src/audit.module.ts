import { Module } from '@nestjs/common';
import { EventStreamModule } from '#libs/event-stream';
import { RegistryModule } from '#libs/registry';
import { AuditLogRepository } from './audit-log.repository.js';
import { AuditLogService } from './audit-log.service.js';

/** The org audit log: rows in each org database, announced on its event stream. */
@Module({ imports: [RegistryModule, EventStreamModule], providers: [AuditLogRepository, AuditLogService], exports: [AuditLogService] })
export class AuditModule {}
