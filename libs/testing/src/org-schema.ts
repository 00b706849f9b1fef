import { orgMigrationsDir, readMigrations } from '#libs/database';

/** The schema version a freshly migrated org database has: the newest org migration. */
export async function latestOrgSchemaVersion(): Promise<string> {
  return (await readMigrations(orgMigrationsDir())).at(-1)!.version;
}
