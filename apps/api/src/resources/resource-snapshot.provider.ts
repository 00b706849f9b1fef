import { Injectable, type OnModuleInit } from '@nestjs/common';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { RealtimeSnapshotProviders, SnapshotNotFoundError, type SnapshotRequest } from '#libs/realtime';
import { ResourceNotFoundError, ResourceService } from '#libs/resources';

/** Environments in the snapshot of a pool: the first page, as GET /v1/pools/:pool/environments gives it. */
const SNAPSHOT_ENVIRONMENTS = 100;

/**
 * Snapshots of `resource` subscriptions: every pool (no id), one pool with the first
 * page of its environments and the `nextCursor` to page on over HTTP (`pool:<id or name>`), one environment (`environment:<id>`) or one
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
      if (kind === 'pool') {
        const pool = await this.resources.getPool(orgId, key);
        const { items, nextCursor } = await this.resources.listEnvironments(orgId, key, { limit: SNAPSHOT_ENVIRONMENTS });
        return { pool, environments: items, nextCursor };
      }
      if (kind === 'allocation') return { allocation: await this.resources.getAllocation(claimsOf(principal), key) };
      if (kind === 'environment') {
        const environment = await this.resources.findEnvironment(orgId, key);
        if (environment) return { environment };
      }
    } catch (error) {
      if (!(error instanceof ResourceNotFoundError)) throw error;
    }
    throw new SnapshotNotFoundError(`no resource ${id}`);
  }
}
