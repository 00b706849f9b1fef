import { Injectable } from '@nestjs/common';
import { CronExpressionParser } from 'cron-parser';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import type { TaskClass } from '#libs/contracts';
import type { OrgClaims } from '#libs/registry';
import { TaskService, TaskTypeCatalog, type TaskListQuery } from '#libs/tasks';
import { ScheduleRepository, type Schedule } from './schedule.repository.js';
import { ScheduleTimer } from './schedule-timer.js';
import { InvalidInputError, NotFoundError } from '#libs/contracts';

/** Upcoming cron times compared to find a pattern's shortest interval: enough to see a burst within an hour or a day. */
const CRON_TIMES_CHECKED = 100;

export class ScheduleNotFoundError extends NotFoundError {
  override name = 'ScheduleNotFoundError';
}

/** A schedule that cannot be: a bad cron pattern or time zone, or task params that do not fit. */
export class InvalidScheduleError extends InvalidInputError {
  override name = 'InvalidScheduleError';
}

export interface NewSchedule {
  name: string;
  cron?: string;
  everyMs?: number;
  timezone?: string;
  task: { type: string; params?: Record<string, unknown>; class?: TaskClass };
}

/** Recurring tasks: each tick of a running schedule creates exactly one task. */
@Injectable()
export class ScheduleService {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly timer: ScheduleTimer,
    private readonly catalog: TaskTypeCatalog,
    private readonly tasks: TaskService,
    private readonly config: PlatformConfig,
  ) {}

  async create(claims: OrgClaims, input: NewSchedule): Promise<Schedule> {
    const problems: string[] = [];
    if (input.timezone && !isTimeZone(input.timezone)) problems.push(`timezone "${input.timezone}" is not an IANA time zone`);
    const minInterval = this.config.SCHEDULE_MIN_INTERVAL_MS;
    if (input.everyMs !== undefined && input.everyMs < minInterval) {
      problems.push(`everyMs must be at least ${minInterval} (SCHEDULE_MIN_INTERVAL_MS)`);
    }
    if (input.cron) {
      try {
        const times = CronExpressionParser.parse(input.cron, input.timezone && isTimeZone(input.timezone) ? { tz: input.timezone } : {});
        if (shortestGap(times.take(CRON_TIMES_CHECKED).map((time) => time.getTime())) < minInterval) {
          problems.push(`cron "${input.cron}" ticks more often than every ${minInterval} ms (SCHEDULE_MIN_INTERVAL_MS)`);
        }
      } catch (error) {
        problems.push(`cron "${input.cron}" is not a cron pattern: ${(error as Error).message}`);
      }
    }
    const { params, problems: taskProblems } = this.catalog.checkTemplate(input.task.type, input.task.params ?? {});
    problems.push(...taskProblems);
    if (problems.length) throw new InvalidScheduleError(problems);
    const schedule = await this.schedules.insert(
      claims,
      {
        id: randomUUID(),
        name: input.name,
        cron: input.cron,
        everyMs: input.everyMs,
        timezone: input.timezone,
        task: { type: input.task.type, params, class: input.task.class ?? 'normal' },
      },
      { max: this.config.QUOTA_SCHEDULES, setting: 'QUOTA_SCHEDULES', what: 'schedules' },
    );
    await this.timer.start(claims.org_id, schedule);
    return schedule;
  }

  list(claims: OrgClaims): Promise<Schedule[]> {
    return this.schedules.list(claims);
  }

  async get(claims: OrgClaims, id: string): Promise<Schedule> {
    const schedule = await this.schedules.find(claims, id);
    if (!schedule) throw new ScheduleNotFoundError(`no schedule ${id}`);
    return schedule;
  }

  /** Pausing stops the ticks; resuming starts them again from now. */
  async setPaused(claims: OrgClaims, id: string, paused: boolean): Promise<Schedule> {
    const schedule = await this.schedules.setPaused(claims, id, paused);
    if (!schedule) throw new ScheduleNotFoundError(`no schedule ${id}`);
    if (paused) await this.timer.stop(id);
    else await this.timer.start(claims.org_id, schedule);
    return schedule;
  }

  /**
   * The row goes first, under the caller's claims: timers are keyed by schedule id alone, so
   * stopping one before the caller's org is known to own it would let any org stop another's.
   * A tick racing the delete finds no row and stops the timer itself.
   */
  async delete(claims: OrgClaims, id: string): Promise<void> {
    if (!(await this.schedules.delete(claims, id))) throw new ScheduleNotFoundError(`no schedule ${id}`);
    await this.timer.stop(id);
  }

  /** The tasks the schedule created, newest first, live and finished alike. */
  async runs(claims: OrgClaims, id: string, query: Omit<TaskListQuery, 'scheduleId'>) {
    await this.get(claims, id);
    return this.tasks.list(claims, { ...query, scheduleId: id });
  }
}

/** The shortest gap between consecutive times, in ms (Infinity for fewer than two). */
function shortestGap(times: number[]): number {
  let shortest = Infinity;
  for (let index = 1; index < times.length; index++) shortest = Math.min(shortest, times[index]! - times[index - 1]!);
  return shortest;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
