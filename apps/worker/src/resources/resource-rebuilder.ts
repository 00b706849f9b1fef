import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { OrgRegistryRepository } from '#libs/registry';
import { ResourceStateStore } from '#libs/resources';

/**
 * At start, rebuilds from Postgres the resource state of every READY org whose state Redis
 * lacks (it came back empty), so leases expire and changes sync without waiting for a
 * request to touch the org. In the background: start-up does not wait for every org.
 */
@Injectable()
export class ResourceRebuilder implements OnApplicationBootstrap {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly store: ResourceStateStore,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    void this.rebuildAll();
  }

  /** Loads every READY org's state that Redis lacks; an org that fails is logged and loaded on its next use. */
  async rebuildAll(): Promise<void> {
    try {
      for (const { org } of await this.registry.findByStatus(['READY'])) {
        await this.store.ensureLoaded(org.id).catch((error: Error) => {
          this.logger.warn({ orgId: org.id, err: error.message }, 'could not rebuild resource state; it loads on next use');
        });
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not list orgs to rebuild resource state');
    }
  }
}
