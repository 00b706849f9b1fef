import { Module } from '@nestjs/common';
import { RealtimeModule } from '#libs/realtime';
import { ResourcesModule } from '#libs/resources';
import { AllocationsController } from './allocations.controller.js';
import { PoolsController } from './pools.controller.js';
import { ResourceSnapshotProvider } from './resource-snapshot.provider.js';

@Module({
  imports: [ResourcesModule, RealtimeModule],
  controllers: [PoolsController, AllocationsController],
  providers: [ResourceSnapshotProvider],
})
export class ResourcesHttpModule {}
