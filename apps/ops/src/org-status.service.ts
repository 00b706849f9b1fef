import { Injectable } from '@nestjs/common';
import { orgMigrationsDir, readMigrations } from '#libs/database';
import { OrgRegistryRepository, OrgSchemaMigrator } from '#libs/registry';

export interface OrgStatusLine {
  slug: string;
  status: string;
  schemaVersion: string | null;
  cluster: string | null;
  database: string | null;
  error: string | null;
}

export interface OrgUpgradeLine {
  slug: string;
  schemaVersion?: string | null;
  applied?: string[];
  error?: string;
}

/** What operators ask of the org instances as a whole: where each stands, and bringing them all up to date. */
@Injectable()
export class OrgStatusService {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly migrator: OrgSchemaMigrator,
  ) {}

  /** Every org the registry knows, live ones first. */
  async status(): Promise<OrgStatusLine[]> {
    return (await this.registry.list()).map(({ org, instance }) => ({
      slug: org.slug,
      status: instance.status,
      schemaVersion: instance.schemaVersion,
      cluster: instance.cluster,
      database: instance.databaseName,
      error: instance.lastError,
    }));
  }

  /** The newest org schema version this build ships. */
  async newestSchemaVersion(): Promise<string | null> {
    return (await readMigrations(orgMigrationsDir())).at(-1)?.version ?? null;
  }

  /** Migrates every READY org database in turn; one failing is reported and does not stop the others. */
  async upgrade(): Promise<OrgUpgradeLine[]> {
    const slugs = new Map((await this.registry.list()).map(({ org }) => [org.id, org.slug]));
    const outcomes = await this.migrator.migrateAllReady();
    return outcomes.map(({ orgId, ...outcome }) => ({ slug: slugs.get(orgId) ?? orgId, ...outcome }));
  }
}
