import { Module } from '@nestjs/common';
import { AuditModule } from '#libs/audit';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { DocumentRepository } from './document.repository.js';
import { DocumentStoreService } from './document-store.service.js';

/** The org document store: `documents` in each org database, live on the `documents` topic. */
@Module({
  imports: [RegistryModule, RealtimeModule, AuditModule],
  providers: [DocumentRepository, DocumentStoreService],
  exports: [DocumentStoreService],
})
export class DocumentsModule {}
