import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { SecretService } from '#libs/secrets';
import { TaskService } from '#libs/tasks';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateTaskDto } from './create-task.dto.js';
import { ListTasksQuery, TaskLogsQuery } from './task-queries.dto.js';

const taskId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1/tasks')
export class TasksController {
  constructor(
    private readonly tasks: TaskService,
    private readonly secrets: SecretService,
  ) {}

  @Post()
  @OrgAccess('member')
  @ApiOperation({ summary: 'Create a task (201 QUEUED); with an idempotencyKey already used, 200 and that task.' })
  @Audited('task.create', 'task')
  async create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateTaskDto, @Res({ passthrough: true }) response: FastifyReply) {
    const claims = claimsOf(principal);
    // Secrets are checked by name only; their values are read by the worker that starts the task.
    if (body.secrets?.length) await this.secrets.requireExisting(claims, body.secrets);
    const { task, created } = await this.tasks.create(claims, body);
    response.code(created ? HttpStatus.CREATED : HttpStatus.OK);
    return task;
  }

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Tasks newest first, live and finished alike; filter by status and type; page with cursor.' })
  list(@CurrentOrg() principal: OrgPrincipal, @Query() query: ListTasksQuery) {
    return this.tasks.list(claimsOf(principal), query);
  }

  @Get(':id')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'One task, from the live tier or from history.' })
  get(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string) {
    return this.tasks.get(claimsOf(principal), id);
  }

  @Get(':id/logs')
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The task's log chunks after `after`, filtered by stream and text." })
  logs(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string, @Query() query: TaskLogsQuery) {
    return this.tasks.logs(claimsOf(principal), id, query);
  }

  @Post(':id/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @OrgAccess('member')
  @ApiOperation({ summary: 'Cancel a waiting or running task; 409 when it has finished.' })
  @Audited('task.cancel', 'task', 'id')
  cancel(@CurrentOrg() principal: OrgPrincipal, @Param('id', taskId) id: string) {
    return this.tasks.cancel(claimsOf(principal), id);
  }
}
