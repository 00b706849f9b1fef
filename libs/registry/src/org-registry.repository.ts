import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { ControlPlaneDatabase, type Queryable } from '#libs/database';
import type { InstanceStatus, OrgInstance, Organization, OrgWithInstance } from './org-instance.js';
import { OrgStatusEvents } from './org-status-events.js';

export class SlugTakenError extends Error {
  override name = 'SlugTakenError';
}

const UNIQUE_VIOLATION = '23505';

const SELECT_ORG_WITH_INSTANCE = `
  SELECT o.id, o.slug, o.name, o.created_at, o.deleted_at,
         i.driver, i.cluster, i.database_name, i.login_role, i.credentials_encrypted, i.schema_version,
         i.status, i.last_error, i.created_at AS instance_created_at, i.updated_at,
         i.realtime_source, i.supabase_url, i.supabase_key_encrypted
    FROM organizations o JOIN org_instances i ON i.org_id = o.id`;

interface OrgRow extends pg.QueryResultRow {
  id: string;
  slug: string;
  name: string;
  created_at: Date;
  deleted_at: Date | null;
  driver: OrgInstance['driver'];
  cluster: string | null;
  database_name: string | null;
  login_role: string | null;
  credentials_encrypted: string;
  schema_version: string | null;
  status: InstanceStatus;
  last_error: string | null;
  instance_created_at: Date;
  updated_at: Date;
  realtime_source: OrgInstance['realtimeSource'];
  supabase_url: string | null;
  supabase_key_encrypted: string | null;
}

function toOrgWithInstance(row: OrgRow): OrgWithInstance {
  const org: Organization = {
    id: row.id,
    slug: row.slug,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    deletedAt: row.deleted_at?.toISOString() ?? null,
  };
  const instance: OrgInstance = {
    orgId: row.id,
    driver: row.driver,
    cluster: row.cluster,
    databaseName: row.database_name,
    loginRole: row.login_role,
    credentialsEncrypted: row.credentials_encrypted,
    schemaVersion: row.schema_version,
    realtimeSource: row.realtime_source,
    supabaseUrl: row.supabase_url,
    supabaseKeyEncrypted: row.supabase_key_encrypted,
    status: row.status,
    lastError: row.last_error,
    createdAt: row.instance_created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
  return { org, instance };
}

export interface NewOrg {
  id: string;
  slug: string;
  name: string;
  driver: OrgInstance['driver'];
  cluster: string | null;
  databaseName: string | null;
  loginRole: string | null;
  credentialsEncrypted: string;
  /** Set for an instance whose changes come from Supabase Realtime. */
  supabase?: { url: string; keyEncrypted: string };
}

/** SQL of the control-plane registry tables: organizations, org_instances, admin_audit_log. */
@Injectable()
export class OrgRegistryRepository {
  constructor(
    private readonly database: ControlPlaneDatabase,
    private readonly statusEvents: OrgStatusEvents,
  ) {}

  /** Tells realtime subscribers the org's instance changed. */
  async announce(orgId: string): Promise<void> {
    const found = await this.findById(orgId);
    if (found) await this.statusEvents.publish(found);
  }

  /** Inserts the org and its PENDING instance; throws SlugTakenError when a live org has the slug. */
  async insert(client: Queryable, org: NewOrg): Promise<void> {
    try {
      await client.query('INSERT INTO organizations (id, slug, name) VALUES ($1, $2, $3)', [org.id, org.slug, org.name]);
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION)
        throw new SlugTakenError(`an organization with slug "${org.slug}" exists`);
      throw error;
    }
    await client.query(
      `INSERT INTO org_instances (org_id, driver, cluster, database_name, login_role, credentials_encrypted, status,
                                  realtime_source, supabase_url, supabase_key_encrypted)
       VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $8, $9)`,
      [
        org.id,
        org.driver,
        org.cluster,
        org.databaseName,
        org.loginRole,
        org.credentialsEncrypted,
        org.supabase ? 'supabase' : 'wal',
        org.supabase?.url ?? null,
        org.supabase?.keyEncrypted ?? null,
      ],
    );
  }

  /** Live orgs first by creation, deleted ones after. */
  async list(): Promise<OrgWithInstance[]> {
    const { rows } = await this.database.query<OrgRow>(`${SELECT_ORG_WITH_INSTANCE} ORDER BY o.deleted_at NULLS FIRST, o.created_at`);
    return rows.map(toOrgWithInstance);
  }

  /** The live org with `slug`. */
  async findBySlug(slug: string): Promise<OrgWithInstance | undefined> {
    const { rows } = await this.database.query<OrgRow>(`${SELECT_ORG_WITH_INSTANCE} WHERE o.slug = $1 AND o.deleted_at IS NULL`, [slug]);
    return rows[0] && toOrgWithInstance(rows[0]);
  }

  async findById(orgId: string): Promise<OrgWithInstance | undefined> {
    const { rows } = await this.database.query<OrgRow>(`${SELECT_ORG_WITH_INSTANCE} WHERE o.id = $1`, [orgId]);
    return rows[0] && toOrgWithInstance(rows[0]);
  }

  /** Instances in `statuses`, e.g. those whose provisioning must be (re)started. */
  async findByStatus(statuses: InstanceStatus[]): Promise<OrgWithInstance[]> {
    const { rows } = await this.database.query<OrgRow>(`${SELECT_ORG_WITH_INSTANCE} WHERE i.status = ANY($1) ORDER BY o.created_at`, [
      statuses,
    ]);
    return rows.map(toOrgWithInstance);
  }

  /** How many org instances are in each status, for /metrics. */
  async countByStatus(): Promise<Map<string, number>> {
    const { rows } = await this.database.query<{ status: string; orgs: string }>(
      'SELECT status, count(*) AS orgs FROM org_instances GROUP BY status',
    );
    return new Map(rows.map((row) => [row.status, Number(row.orgs)]));
  }

  /** Live org count per configured cluster, for placing a new org on the emptiest. */
  async countByCluster(): Promise<Map<string, number>> {
    const { rows } = await this.database.query<{ cluster: string; orgs: string }>(
      `SELECT cluster, count(*) AS orgs FROM org_instances WHERE cluster IS NOT NULL AND status <> 'DELETED' GROUP BY cluster`,
    );
    return new Map(rows.map((row) => [row.cluster, Number(row.orgs)]));
  }

  /** Moves the instance to `status`, only from one of `from`; false when it was in another status. */
  async transition(
    orgId: string,
    from: InstanceStatus[],
    status: InstanceStatus,
    fields: { lastError?: string | null; schemaVersion?: string | null } = {},
  ): Promise<boolean> {
    const { rowCount } = await this.database.query(
      `UPDATE org_instances
          SET status = $3,
              last_error = CASE WHEN $4 THEN $5 ELSE last_error END,
              schema_version = CASE WHEN $6 THEN $7 ELSE schema_version END,
              updated_at = now()
        WHERE org_id = $1 AND status = ANY($2)`,
      [orgId, from, status, 'lastError' in fields, fields.lastError ?? null, 'schemaVersion' in fields, fields.schemaVersion ?? null],
    );
    if (rowCount === 1) await this.announce(orgId);
    return rowCount === 1;
  }

  async setSchemaVersion(orgId: string, schemaVersion: string | null): Promise<void> {
    await this.database.query('UPDATE org_instances SET schema_version = $2, updated_at = now() WHERE org_id = $1', [orgId, schemaVersion]);
    await this.announce(orgId);
  }

  /** Marks the org deleted (freeing its slug) and its instance DELETED. */
  async markDeleted(orgId: string): Promise<void> {
    await this.database.transaction(async (client) => {
      await client.query(`UPDATE org_instances SET status = 'DELETED', last_error = NULL, updated_at = now() WHERE org_id = $1`, [orgId]);
      await client.query('UPDATE organizations SET deleted_at = coalesce(deleted_at, now()) WHERE id = $1', [orgId]);
    });
    await this.announce(orgId);
  }

  /** Appends one entry to the admin audit log. */
  async audit(
    entry: { actor: string; action: string; orgId?: string; details?: object },
    client: Queryable = this.database,
  ): Promise<void> {
    await client.query('INSERT INTO admin_audit_log (actor, action, org_id, details) VALUES ($1, $2, $3, $4)', [
      entry.actor,
      entry.action,
      entry.orgId ?? null,
      JSON.stringify(entry.details ?? {}),
    ]);
  }
}
