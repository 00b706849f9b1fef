import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { InvalidCursorError, TaskConflictError, TaskNotFoundError, TaskParamsError, TaskService } from '#libs/tasks';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateTaskDto } from './create-task.dto.js';
import { ListTasksQuery, TaskLogsQuery } from './task-queries.dto.js';

const taskId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

/** Maps the tasks domain's errors to HTTP answers. */
function toHttpError(error: unknown): never {
  if (error instanceof TaskParamsError) throw new BadRequestException(error.problems);
  if (error instanceof TaskNotFoundError) throw new NotFoundException(error.message);
  if (error instanceof TaskConflictError) throw new ConflictException(`task is already ${error.currentStatus}`);
  if (error instanceof InvalidCursorError) throw new BadRequestException([error.message]);
  throw error;
}

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1/tasks')
export class TasksController {
  constructor(private readonly tasks: TaskService) {}

  @Post()
  @OrgAccess('member')
  @ApiOperation({ summary: 'Create a task (201 QUEUED); with an idempotencyKey already used, 200 and that task.' })
  async create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateTaskDto, @Res({ passthrough: true }) response: Response) {
    const { task, created } = await this.tasks.create(claimsOf(principal), body).catch(toHttpError);
    response.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return task;
  }

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Tasks newest first, live and finished alike; filter by status and type; page with cursor.' })
  list(@CurrentOrg() principal: OrgPrincipal, @Query() query: ListTasksQuery) {
    return this.tasks.list(claimsOf(principal), query).catch(toHttpError);
  }

  @Get(':id')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'One task, from the live tier or from history.' })
  get(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string) {
    return this.tasks.get(claimsOf(principal), id).catch(toHttpError);
  }

  @Get(':id/logs')
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The task's log chunks after `after`, filtered by stream and text." })
  logs(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string, @Query() query: TaskLogsQuery) {
    return this.tasks.logs(claimsOf(principal), id, query).catch(toHttpError);
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @OrgAccess('member')
  @ApiOperation({ summary: 'Cancel a waiting or running task; 409 when it has finished.' })
  cancel(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string) {
    return this.tasks.cancel(claimsOf(principal), id).catch(toHttpError);
  }
}
