import { Injectable } from '@nestjs/common';
import { orgMigrationsDir, runMigrations, withPgClient, type MigrationResult } from '#libs/database';
import { OrgConnection } from './org-connection.js';
import type { OrgInstance } from './org-instance.js';
import { OrgRegistryRepository } from './org-registry.repository.js';

export interface OrgMigrationOutcome {
  orgId: string;
  schemaVersion?: string | null;
  applied?: string[];
  error?: string;
}

/** Runs the org migrations (supabase/migrations/org) on org databases and records their schema version. */
@Injectable()
export class OrgSchemaMigrator {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly connection: OrgConnection,
  ) {}

  /**
   * Brings one instance to the newest schema, as its own login role so it owns what it
   * creates, and pins the database to its org (the identity the RLS policies check).
   */
  async migrate(instance: OrgInstance): Promise<MigrationResult> {
    const url = this.connection.ownerUrl(instance);
    const result = await runMigrations(url, orgMigrationsDir());
    await withPgClient(url, (client) =>
      client.query(
        `INSERT INTO platform.org_identity (org_id) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET org_id = EXCLUDED.org_id`,
        [instance.orgId],
      ),
    );
    await this.registry.setSchemaVersion(instance.orgId, result.schemaVersion);
    return result;
  }

  /** Migrates every READY instance; one failing is reported and does not stop the others. */
  async migrateAllReady(): Promise<OrgMigrationOutcome[]> {
    const outcomes: OrgMigrationOutcome[] = [];
    for (const { instance } of await this.registry.findByStatus(['READY'])) {
      try {
        const { schemaVersion, applied } = await this.migrate(instance);
        outcomes.push({ orgId: instance.orgId, schemaVersion, applied });
      } catch (error) {
        outcomes.push({ orgId: instance.orgId, error: (error as Error).message });
      }
    }
    return outcomes;
  }
}
