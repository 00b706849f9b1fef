import { Injectable, type OnModuleInit } from '@nestjs/common';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { RealtimeSnapshotProviders, SnapshotNotFoundError, type SnapshotRequest } from '#libs/realtime';
import { ResourceNotFoundError, ResourceService } from '#libs/resources';

/**
 * Snapshots of `resource` subscriptions: every pool (no id), one pool with its
 * environments (`pool:<id or name>`), one environment (`environment:<id>`) or one
 * allocation (`allocation:<id>`), always of the caller's org.
 */
@Injectable()
export class ResourceSnapshotProvider implements OnModuleInit {
  constructor(
    private readonly providers: RealtimeSnapshotProviders,
    private readonly resources: ResourceService,
  ) {}

  onModuleInit(): void {
    this.providers.register('resource', this);
  }

  async snapshot(principal: OrgPrincipal, { id }: SnapshotRequest): Promise<unknown> {
    const orgId = principal.orgId;
    try {
      if (!id) return { pools: await this.resources.listPools(orgId) };
      const [kind, key] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
      if (kind === 'pool')
        return { pool: await this.resources.getPool(orgId, key), environments: await this.resources.listEnvironments(orgId, key) };
      if (kind === 'allocation') return { allocation: await this.resources.getAllocation(claimsOf(principal), key) };
      if (kind === 'environment') {
        for (const pool of await this.resources.listPools(orgId)) {
          const environment = (await this.resources.listEnvironments(orgId, pool.id)).find((candidate) => candidate.id === key);
          if (environment) return { environment };
        }
      }
    } catch (error) {
      if (!(error instanceof ResourceNotFoundError)) throw error;
    }
    throw new SnapshotNotFoundError(`no resource ${id}`);
  }
}
