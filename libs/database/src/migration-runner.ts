import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export interface MigrationFile {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  /** Highest version now applied, or null when the folder is empty. */
  schemaVersion: string | null;
}

/** `0001_create_things.sql` → version `0001`, name `create_things`. */
const FILE_PATTERN = /^(\d{4,})_([a-z0-9_]+)\.sql$/;
const HISTORY_TABLE = 'schema_migrations';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Reads the versioned SQL files of `dir` in version order; a misnamed .sql file is an error. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: MigrationFile[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`migration file ${file} in ${dir} is not named like 0001_description.sql`);
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({ version: match[1]!, name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  const versions = migrations.map((m) => m.version);
  const repeated = versions.find((version, i) => versions.indexOf(version) !== i);
  if (repeated) throw new MigrationError(`two migration files in ${dir} share version ${repeated}`);
  return migrations;
}

/**
 * Brings the database at `connectionString` up to the newest file in `dir`. Each file
 * runs in its own transaction and is recorded with its checksum; an applied file
 * that was edited since is an error. A session advisory lock keeps two processes
 * migrating the same database at once from racing: the second waits, then finds
 * nothing left to do.
 */
export async function runMigrations(connectionString: string, dir: string): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  const client = new pg.Client({ connectionString });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [`migrations:${HISTORY_TABLE}`]);
    // Looked up through the search path first: CREATE TABLE IF NOT EXISTS checks only the first schema of the path,
    // and would make an empty second history where the path has gained a schema since (org databases: `platform`).
    const { rows: found } = await client.query<{ table: string | null }>(`SELECT to_regclass($1)::text AS table`, [HISTORY_TABLE]);
    if (!found[0]?.table)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
         version text PRIMARY KEY,
         name text NOT NULL,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
      );
    const { rows } = await client.query<{ version: string; checksum: string }>(`SELECT version, checksum FROM ${HISTORY_TABLE}`);
    const appliedChecksums = new Map(rows.map((row) => [row.version, row.checksum]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const known = appliedChecksums.get(migration.version);
      if (known !== undefined) {
        if (known !== migration.checksum) {
          throw new MigrationError(
            `migration ${migration.version}_${migration.name}.sql was edited after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await applyOne(client, migration);
      applied.push(migration.version);
    }
    const versions = [...appliedChecksums.keys(), ...applied].sort();
    return { applied, schemaVersion: versions.at(-1) ?? null };
  } finally {
    await client.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function applyOne(client: pg.Client, migration: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${HISTORY_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`, [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`migration ${migration.version}_${migration.name}.sql failed: ${(error as Error).message}`, { cause: error });
  }
}
