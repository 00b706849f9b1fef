import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { ScheduleService } from '#libs/schedules';

import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { ListTasksQuery } from '../tasks/task-queries.dto.js';
import { CreateScheduleDto } from './create-schedule.dto.js';

const scheduleId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

@ApiTags('schedules')
@ApiBearerAuth()
@Controller('v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: ScheduleService) {}

  @Post()
  @OrgAccess('member')
  @ApiOperation({ summary: 'Create a recurring task: each tick (cron or everyMs) creates exactly one task.' })
  @Audited('schedule.create', 'schedule')
  create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateScheduleDto) {
    if (!body.cron && !body.everyMs) throw new BadRequestException(['give cron or everyMs']);
    return this.schedules.create(claimsOf(principal), body);
  }

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The org's schedules." })
  list(@CurrentOrg() principal: OrgPrincipal) {
    return this.schedules.list(claimsOf(principal));
  }

  @Get(':id')
  @OrgAccess('viewer')
  get(@CurrentOrg() principal: OrgPrincipal, @Param('id', scheduleId) id: string) {
    return this.schedules.get(claimsOf(principal), id);
  }

  @Post(':id/pause')
  @HttpCode(HttpStatus.OK)
  @OrgAccess('member')
  @ApiOperation({ summary: 'Stop the ticks; a paused schedule creates no task.' })
  @Audited('schedule.pause', 'schedule', 'id')
  pause(@CurrentOrg() principal: OrgPrincipal, @Param('id', scheduleId) id: string) {
    return this.schedules.setPaused(claimsOf(principal), id, true);
  }

  @Post(':id/resume')
  @HttpCode(HttpStatus.OK)
  @OrgAccess('member')
  @Audited('schedule.resume', 'schedule', 'id')
  resume(@CurrentOrg() principal: OrgPrincipal, @Param('id', scheduleId) id: string) {
    return this.schedules.setPaused(claimsOf(principal), id, false);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @Audited('schedule.delete', 'schedule', 'id')
  async delete(@CurrentOrg() principal: OrgPrincipal, @Param('id', scheduleId) id: string) {
    await this.schedules.delete(claimsOf(principal), id);
  }

  @Get(':id/runs')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'The tasks the schedule created, newest first, paged like GET /v1/tasks.' })
  runs(@CurrentOrg() principal: OrgPrincipal, @Param('id', scheduleId) id: string, @Query() query: ListTasksQuery) {
    return this.schedules.runs(claimsOf(principal), id, query);
  }
}
