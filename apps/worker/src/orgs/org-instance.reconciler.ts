import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { OrgInstanceJobs, OrgRegistryRepository, OrgSchemaMigrator } from '#libs/registry';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';

/**
 * At worker start: queues again the provisioning work the registry says is unfinished
 * (a lost enqueue, an emptied Redis), and brings every READY org database to the newest
 * schema, so upgrading the platform migrates every org.
 */
@Injectable()
export class OrgInstanceReconciler implements OnApplicationBootstrap {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly jobs: OrgInstanceJobs,
    private readonly migrator: OrgSchemaMigrator,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const { instance } of await this.registry.findByStatus(['PENDING', 'PROVISIONING', 'DEPROVISIONING'])) {
      await this.jobs.enqueue(instance.orgId, instance.status === 'DEPROVISIONING' ? 'deprovision' : 'provision');
    }
    // In the background: a slow or broken org database must not hold up the worker's start.
    void this.migrator.migrateAllReady().then(
      (outcomes) => {
        const failed = outcomes.filter((outcome) => outcome.error);
        for (const outcome of failed) this.logger.error({ orgId: outcome.orgId, reason: outcome.error }, 'org schema migration failed');
        this.logger.info({ orgs: outcomes.length, failed: failed.length }, 'org schemas checked');
      },
      (error: unknown) => this.logger.error({ err: error }, 'org schema migration could not run'),
    );
  }
}
