import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { QueueName, ScheduleTickJob, validatePayload } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { QueueFactory } from '#libs/redis';
import { OrgRegistryRepository } from '#libs/registry';
import { ScheduleRepository, ScheduleTimer } from '#libs/schedules';
import { TaskService } from '#libs/tasks';

/**
 * Turns each schedule tick into one task. The tick's job id names the tick, so even a
 * tick handled twice (a worker dying after creating the task) creates one task.
 */
@Injectable()
export class ScheduleTickProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly queues: QueueFactory,
    private readonly schedules: ScheduleRepository,
    private readonly timer: ScheduleTimer,
    private readonly tasks: TaskService,
    private readonly registry: OrgRegistryRepository,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.queues.worker<ScheduleTickJob>(QueueName.schedules, (job) => this.process(job));
    // Job schedulers live in Redis: if it came back empty, the org databases still know every schedule.
    void this.restoreTimers().catch((error: unknown) => this.logger.error({ err: error }, 'could not restore schedule timers'));
  }

  async process(job: Job<ScheduleTickJob>): Promise<void> {
    let payload: ScheduleTickJob;
    try {
      payload = validatePayload(ScheduleTickJob, job.data);
    } catch (error) {
      throw new UnrecoverableError(`invalid job payload: ${(error as Error).message}`);
    }
    const schedule = await this.schedules.findForTick(payload.orgId, payload.scheduleId);
    if (!schedule) {
      await this.timer.stop(payload.scheduleId);
      return;
    }
    if (schedule.paused) return;
    // The schedule acts as a member of its org: its tasks are read back under the org's RLS.
    const claims = { sub: schedule.id, role: 'authenticated' as const, org_id: payload.orgId, app_role: 'member' as const };
    await this.tasks.create(claims, { ...schedule.task, scheduleId: schedule.id, idempotencyKey: `schedule-${job.id}` });
  }

  private async restoreTimers(): Promise<void> {
    for (const { org } of await this.registry.findByStatus(['READY'])) {
      for (const schedule of await this.schedules.listActive(org.id)) await this.timer.start(org.id, schedule);
    }
  }
}
