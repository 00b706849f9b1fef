import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { InvalidPayloadError, OrgInstanceJob, QueueName, validatePayload } from '#libs/contracts';
import { OrgProvisioner, PermanentProvisioningError } from '#libs/registry';
import { QueueFactory } from '#libs/redis';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';

/** Runs org-provisioning jobs: provision (with retries, then FAILED with the reason) and deprovision. */
@Injectable()
export class OrgInstanceProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly queues: QueueFactory,
    private readonly provisioner: OrgProvisioner,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.queues.worker<OrgInstanceJob>(QueueName.orgProvisioning, (job) => this.process(job), {
      concurrency: this.config.PROVISIONING_CONCURRENCY,
    });
  }

  async process(job: Job<OrgInstanceJob>): Promise<void> {
    let payload: OrgInstanceJob;
    try {
      payload = validatePayload(OrgInstanceJob, job.data);
    } catch (error) {
      if (error instanceof InvalidPayloadError) throw new UnrecoverableError(`invalid job payload: ${error.message}`);
      throw error;
    }
    const { orgId, action } = payload;
    const started = Date.now();
    if (action === 'deprovision') {
      if (await this.provisioner.deprovision(orgId)) this.logger.info({ orgId, ms: Date.now() - started }, 'organization deprovisioned');
      return;
    }
    try {
      if (await this.provisioner.provision(orgId)) this.logger.info({ orgId, ms: Date.now() - started }, 'organization provisioned');
    } catch (error) {
      const reason = (error as Error).message;
      const lastAttempt = error instanceof PermanentProvisioningError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.logger.warn({ orgId, attempt: job.attemptsMade + 1, lastAttempt, reason }, 'provisioning attempt failed');
      if (!lastAttempt) throw error;
      await this.provisioner.fail(orgId, reason);
      throw new UnrecoverableError(reason);
    }
  }
}
