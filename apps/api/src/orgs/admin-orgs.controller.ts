import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PlatformAdminOnly } from '../auth/access.decorators.js';
import { AdminOrgsService } from './admin-orgs.service.js';
import { CreateOrgDto } from './create-org.dto.js';
import { PublishTablesDto } from './publish-tables.dto.js';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/orgs')
@PlatformAdminOnly()
export class AdminOrgsController {
  constructor(private readonly orgs: AdminOrgsService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Create an org and provision its database; answers with its first admin token, shown once.' })
  create(@Body() body: CreateOrgDto) {
    return this.orgs.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'Every org with its instance status.' })
  list() {
    return this.orgs.list();
  }

  @Get(':slug')
  @ApiOperation({ summary: 'One org with its instance: status, schema version, last error.' })
  get(@Param('slug') slug: string) {
    return this.orgs.get(slug);
  }

  @Get(':slug/realtime')
  @ApiOperation({ summary: "What the org's realtime publication holds: every table of public, or a chosen list." })
  published(@Param('slug') slug: string) {
    return this.orgs.publishedTables(slug);
  }

  @Put(':slug/realtime')
  @ApiOperation({
    summary:
      'Sets the tables whose changes are relayed: null for every table of public, or a list; with none, the org holds no replication slot.',
  })
  publish(@Param('slug') slug: string, @Body() body: PublishTablesDto) {
    return this.orgs.publishTables(slug, body.tables);
  }

  @Post(':slug/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Provision a FAILED instance again.' })
  retry(@Param('slug') slug: string) {
    return this.orgs.retry(slug);
  }

  @Delete(':slug')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Deprovision: the instance goes DEPROVISIONING, then DELETED; its database and role are dropped.' })
  deprovision(@Param('slug') slug: string) {
    return this.orgs.deprovision(slug);
  }
}
