import { Module } from '@nestjs/common';
import { ResourcesModule } from '#libs/resources';
import { AllocationsController } from './allocations.controller.js';
import { PoolsController } from './pools.controller.js';

@Module({ imports: [ResourcesModule], controllers: [PoolsController, AllocationsController] })
export class ResourcesHttpModule {}
