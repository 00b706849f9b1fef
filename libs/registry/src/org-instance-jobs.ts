import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { QueueName, type OrgInstanceAction, type OrgInstanceJob } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';

const RETRY_BACKOFF_MS = 1000;

/** Enqueues provisioning and deprovisioning jobs; one job per org and action at a time. */
@Injectable()
export class OrgInstanceJobs {
  private readonly queue: Queue<OrgInstanceJob>;

  constructor(
    queues: QueueFactory,
    private readonly config: PlatformConfig,
  ) {
    this.queue = queues.queue<OrgInstanceJob>(QueueName.orgProvisioning);
  }

  /** Enqueues `action` for the org unless such a job is already waiting or running. */
  async enqueue(orgId: string, action: OrgInstanceAction): Promise<void> {
    await this.queue.add(
      action,
      { orgId, action },
      {
        jobId: `${action}-${orgId}`,
        attempts: this.config.PROVISIONING_ATTEMPTS,
        backoff: { type: 'exponential', delay: RETRY_BACKOFF_MS },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }
}
