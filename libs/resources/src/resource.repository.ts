import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import type { AllocationView, EnvironmentView, ResourceChange, ResourceSnapshot, StoredPool } from './resource-views.js';

interface AllocationRow extends pg.QueryResultRow {
  id: string;
  pool_id: string;
  environment_id: string;
  holder: string;
  status: AllocationView['status'];
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
}

function toAllocation(row: AllocationRow): AllocationView {
  const view: AllocationView = {
    id: row.id,
    poolId: row.pool_id,
    environmentId: row.environment_id,
    holder: row.holder,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  };
  if (row.ended_at) view.endedAt = row.ended_at.toISOString();
  return view;
}

/**
 * The resource tier's durable copy in each org database: written behind Redis by the
 * sync writer (service_role), read back to rebuild Redis, and read under the caller's
 * RLS claims for leases Redis no longer keeps.
 */
@Injectable()
export class ResourceRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /** Writes changes in order, in one transaction; a change already written (rev not newer) changes nothing. */
  async apply(orgId: string, changes: ResourceChange[]): Promise<void> {
    await this.orgDatabase.asService(orgId, async (client) => {
      for (const change of changes) await applyOne(client, change);
    });
  }

  /** Everything Redis needs to carry on: pools, environments, live allocations, the last change number. */
  async snapshot(orgId: string): Promise<ResourceSnapshot> {
    return this.orgDatabase.asService(orgId, async (client) => {
      const pools = await client.query<{ id: string; name: string; kind: string; created_at: Date }>(
        'SELECT id, name, kind, created_at FROM resource_pools ORDER BY created_at',
      );
      const environments = await client.query<{
        id: string;
        pool_id: string;
        name: string;
        attributes: Record<string, unknown>;
        status: EnvironmentView['status'];
        allocation_id: string | null;
        created_at: Date;
        updated_at: Date;
      }>('SELECT * FROM resource_environments ORDER BY updated_at, id');
      const allocations = await client.query<AllocationRow>(`SELECT * FROM resource_allocations WHERE status = 'active'`);
      const rev = await client.query<{ rev: string | null }>(
        `SELECT greatest((SELECT max(rev) FROM resource_pools), (SELECT max(rev) FROM resource_environments),
                         (SELECT max(rev) FROM resource_allocations)) AS rev`,
      );
      return {
        pools: pools.rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, createdAt: row.created_at.toISOString() })),
        environments: environments.rows.map((row) => {
          const view: EnvironmentView = {
            id: row.id,
            poolId: row.pool_id,
            name: row.name,
            attributes: row.attributes,
            status: row.status,
            createdAt: row.created_at.toISOString(),
            updatedAt: row.updated_at.toISOString(),
          };
          if (row.allocation_id) view.allocationId = row.allocation_id;
          return view;
        }),
        allocations: allocations.rows.map(toAllocation),
        rev: Number(rev.rows[0]?.rev ?? 0),
      };
    });
  }

  /** An allocation as last written, under the caller's claims. */
  async findAllocation(claims: OrgClaims, allocationId: string): Promise<AllocationView | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<AllocationRow>('SELECT * FROM resource_allocations WHERE id = $1', [allocationId]),
    );
    return rows[0] && toAllocation(rows[0]);
  }
}

async function applyOne(client: pg.PoolClient, change: ResourceChange): Promise<void> {
  switch (change.kind) {
    case 'pool':
      return upsertPool(client, change.rev, change.data);
    case 'environment':
      return upsertEnvironment(client, change.rev, change.data);
    case 'allocation':
      return upsertAllocation(client, change);
  }
}

async function upsertPool(client: pg.PoolClient, rev: number, pool: StoredPool): Promise<void> {
  await client.query(
    `INSERT INTO resource_pools (id, name, kind, created_at, rev) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, rev = EXCLUDED.rev
     WHERE resource_pools.rev < EXCLUDED.rev`,
    [pool.id, pool.name, pool.kind, pool.createdAt, rev],
  );
}

async function upsertEnvironment(client: pg.PoolClient, rev: number, env: EnvironmentView): Promise<void> {
  await client.query(
    `INSERT INTO resource_environments (id, pool_id, name, attributes, status, allocation_id, created_at, updated_at, rev)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET attributes = EXCLUDED.attributes, status = EXCLUDED.status,
       allocation_id = EXCLUDED.allocation_id, updated_at = EXCLUDED.updated_at, rev = EXCLUDED.rev
     WHERE resource_environments.rev < EXCLUDED.rev`,
    [env.id, env.poolId, env.name, JSON.stringify(env.attributes), env.status, env.allocationId ?? null, env.createdAt, env.updatedAt, rev],
  );
}

async function upsertAllocation(client: pg.PoolClient, change: Extract<ResourceChange, { kind: 'allocation' }>): Promise<void> {
  const { rev, action, at, data: lease } = change;
  await client.query(
    `INSERT INTO resource_allocations (id, pool_id, environment_id, holder, status, created_at, expires_at, ended_at, rev)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, ended_at = EXCLUDED.ended_at,
       rev = EXCLUDED.rev
     WHERE resource_allocations.rev < EXCLUDED.rev`,
    [lease.id, lease.poolId, lease.environmentId, lease.holder, lease.status, lease.createdAt, lease.expiresAt, lease.endedAt ?? null, rev],
  );
  await client.query(
    `INSERT INTO resource_allocation_history (rev, allocation_id, pool_id, environment_id, holder, action, expires_at, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (rev) DO NOTHING`,
    [rev, lease.id, lease.poolId, lease.environmentId, lease.holder, action, lease.expiresAt, at],
  );
}
