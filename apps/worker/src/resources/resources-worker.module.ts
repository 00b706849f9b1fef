import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { ResourcesModule } from '#libs/resources';
import { ResourceRebuilder } from './resource-rebuilder.js';
import { ResourceSweeper } from './resource-sweeper.js';
import { ResourceSyncWriter } from './resource-sync.writer.js';

/** The worker's share of the resource tier: lease expiry, write-behind to Postgres, rebuild at start. */
@Module({
  imports: [RegistryModule, ResourcesModule],
  providers: [ResourceRebuilder, ResourceSweeper, ResourceSyncWriter],
})
export class ResourcesWorkerModule {}
