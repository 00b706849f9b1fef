import { Injectable } from '@nestjs/common';
import type { Organization } from './org-instance.js';
import { OrgRegistryRepository } from './org-registry.repository.js';

/** Read access to the registry for other modules: which orgs exist and are live. */
@Injectable()
export class OrgDirectory {
  constructor(private readonly registry: OrgRegistryRepository) {}

  /** The org if it exists and is neither deleted nor being deprovisioned (its credentials end when teardown starts). */
  async findLive(orgId: string): Promise<Organization | undefined> {
    const found = await this.registry.findById(orgId);
    const endingOrEnded = found?.instance.status === 'DEPROVISIONING' || found?.instance.status === 'DELETED';
    return found && !found.org.deletedAt && !endingOrEnded ? found.org : undefined;
  }
}
