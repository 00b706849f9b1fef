import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { WorkerRegistryStore } from '#libs/tasks';
import { OrgAccess } from '../auth/access.decorators.js';

@ApiTags('workers')
@ApiBearerAuth()
@Controller('v1/workers')
export class WorkersController {
  constructor(private readonly workers: WorkerRegistryStore) {}

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Workers with status ONLINE, DRAINING or OFFLINE, last heartbeat and running count.' })
  list() {
    return this.workers.list();
  }
}
