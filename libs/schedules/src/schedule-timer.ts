import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { QueueName, type ScheduleTickJob } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';
import type { Schedule } from './schedule.repository.js';

/**
 * The ticking of schedules: one BullMQ job scheduler per schedule on the `schedules`
 * queue. BullMQ makes each tick one job, whatever the number of workers, and keeps the
 * timing in Redis across restarts.
 */
@Injectable()
export class ScheduleTimer {
  private readonly queue: Queue<ScheduleTickJob>;

  constructor(queues: QueueFactory) {
    this.queue = queues.queue<ScheduleTickJob>(QueueName.schedules);
  }

  /** Starts (or updates) the schedule's ticks. */
  async start(orgId: string, schedule: Schedule): Promise<void> {
    const repeat = schedule.cron
      ? { pattern: schedule.cron, ...(schedule.timezone ? { tz: schedule.timezone } : {}) }
      : { every: schedule.everyMs! };
    await this.queue.upsertJobScheduler(this.schedulerId(schedule.id), repeat, {
      name: 'tick',
      data: { orgId, scheduleId: schedule.id },
      opts: { removeOnComplete: true, removeOnFail: true },
    });
  }

  /** Stops the schedule's ticks (paused or deleted). */
  async stop(scheduleId: string): Promise<void> {
    await this.queue.removeJobScheduler(this.schedulerId(scheduleId));
  }

  private schedulerId(scheduleId: string): string {
    return `schedule-${scheduleId}`;
  }
}
