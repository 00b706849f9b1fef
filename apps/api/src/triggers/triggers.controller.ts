import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { TriggerService } from '#libs/triggers';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateTriggerDto, TriggerRunsQuery, UpdateTriggerDto } from './trigger.dto.js';

const triggerId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

@ApiTags('triggers')
@ApiBearerAuth()
@Controller('v1/triggers')
export class TriggersController {
  constructor(private readonly triggers: TriggerService) {}

  @Post()
  @OrgAccess('member')
  @ApiOperation({ summary: 'Run a task for every committed row change of a table that matches the events and filter.' })
  @Audited('trigger.create', 'trigger')
  create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateTriggerDto) {
    return this.triggers.create(claimsOf(principal), body);
  }

  @Get()
  @OrgAccess('viewer')
  list(@CurrentOrg() principal: OrgPrincipal) {
    return this.triggers.list(claimsOf(principal));
  }

  @Patch(':id')
  @OrgAccess('member')
  @ApiOperation({ summary: 'Enable or disable the trigger.' })
  @Audited('trigger.update', 'trigger', 'id')
  update(@CurrentOrg() principal: OrgPrincipal, @Param('id', triggerId) id: string, @Body() body: UpdateTriggerDto) {
    return this.triggers.setEnabled(claimsOf(principal), id, body.enabled);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @Audited('trigger.delete', 'trigger', 'id')
  async delete(@CurrentOrg() principal: OrgPrincipal, @Param('id', triggerId) id: string) {
    await this.triggers.delete(claimsOf(principal), id);
  }

  @Get(':id/runs')
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The trigger's recent firings with their tasks, newest first." })
  runs(@CurrentOrg() principal: OrgPrincipal, @Param('id', triggerId) id: string, @Query() query: TriggerRunsQuery) {
    return this.triggers.runs(claimsOf(principal), id, query.limit);
  }
}
