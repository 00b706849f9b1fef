import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { ResourceRepository } from './resource.repository.js';
import { ResourceService } from './resource.service.js';
import { ResourceStateStore } from './resource-state.store.js';
import { ResourceWaiters } from './resource-waiters.js';

/** The resources domain: pools, environments and leases live in Redis, written behind to each org database. */
@Module({
  imports: [RegistryModule],
  providers: [ResourceRepository, ResourceService, ResourceStateStore, ResourceWaiters],
  exports: [ResourceRepository, ResourceService, ResourceStateStore],
})
export class ResourcesModule {}
