import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { TASK_STATS_WINDOWS, type TaskStatsWindow } from '#libs/contracts';
import { TaskService } from '#libs/tasks';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';

export class TaskStatsQuery {
  @ApiPropertyOptional({ enum: TASK_STATS_WINDOWS, default: '1h' })
  @IsOptional()
  @IsIn(TASK_STATS_WINDOWS)
  window: TaskStatsWindow = '1h';

  @ApiPropertyOptional({ description: 'only tasks of this type' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  type?: string;
}

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1/stats')
export class TaskStatsController {
  constructor(private readonly tasks: TaskService) {}

  @Get('tasks')
  @OrgAccess('viewer')
  @ApiOperation({
    summary:
      'Per-minute finished and failed counts, run-time p50/p95/p99 and queue depth over the window, and counts per final status, from task history.',
  })
  tasksStats(@CurrentOrg() principal: OrgPrincipal, @Query() query: TaskStatsQuery) {
    return this.tasks.stats(claimsOf(principal), query.window, query.type);
  }
}
