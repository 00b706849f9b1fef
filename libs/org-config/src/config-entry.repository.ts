import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { ConfigEntry } from './config-entry.js';

interface ConfigRow extends pg.QueryResultRow {
  key: string;
  value: unknown;
  version: string;
  updated_at: Date;
  updated_by: string | null;
}

const COLUMNS = 'key, value, version, updated_at, updated_by';

const toEntry = (row: ConfigRow): ConfigEntry => ({
  key: row.key,
  value: row.value,
  version: Number(row.version),
  updatedAt: row.updated_at.toISOString(),
  updatedBy: row.updated_by,
});

/** SQL of the org database's `config_entries`, always on a client of the caller's transaction (RLS decides). */
@Injectable()
export class ConfigEntryRepository {
  async get(client: pg.ClientBase, key: string): Promise<ConfigEntry | undefined> {
    const { rows } = await client.query<ConfigRow>(`SELECT ${COLUMNS} FROM config_entries WHERE key = $1`, [key]);
    return rows[0] && toEntry(rows[0]);
  }

  /** Keys in order after `afterKey`, starting with `prefix`; one more than `limit` to tell a next page. */
  async list(client: pg.ClientBase, query: { prefix: string; afterKey?: string; limit: number }): Promise<ConfigEntry[]> {
    const { rows } = await client.query<ConfigRow>(
      `SELECT ${COLUMNS} FROM config_entries WHERE starts_with(key, $1) AND ($2::text IS NULL OR key > $2) ORDER BY key LIMIT $3`,
      [query.prefix, query.afterKey ?? null, query.limit + 1],
    );
    return rows.map(toEntry);
  }

  /** Creates the entry at version 1, or nothing when the key exists. */
  async insertNew(client: pg.ClientBase, key: string, json: string, updatedBy: string | null): Promise<ConfigEntry | undefined> {
    const { rows } = await client.query<ConfigRow>(
      `INSERT INTO config_entries (key, value, updated_by) VALUES ($1, $2::jsonb, $3) ON CONFLICT (key) DO NOTHING RETURNING ${COLUMNS}`,
      [key, json, updatedBy],
    );
    return rows[0] && toEntry(rows[0]);
  }

  /** Creates the entry or replaces its value, one version up. */
  async upsert(client: pg.ClientBase, key: string, json: string, updatedBy: string | null): Promise<ConfigEntry> {
    const { rows } = await client.query<ConfigRow>(
      `INSERT INTO config_entries (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = config_entries.version + 1, updated_at = now(), updated_by = EXCLUDED.updated_by
       RETURNING ${COLUMNS}`,
      [key, json, updatedBy],
    );
    return toEntry(rows[0]!);
  }

  /**
   * Replaces the value, one version up, only if the entry exists (at `version` when given).
   * Concurrent writers of the same version serialise on the row lock and the later one
   * finds the version moved: exactly one wins.
   */
  async update(
    client: pg.ClientBase,
    key: string,
    json: string,
    updatedBy: string | null,
    version?: number,
  ): Promise<ConfigEntry | undefined> {
    const { rows } = await client.query<ConfigRow>(
      `UPDATE config_entries SET value = $2::jsonb, version = version + 1, updated_at = now(), updated_by = $3
       WHERE key = $1 AND ($4::bigint IS NULL OR version = $4) RETURNING ${COLUMNS}`,
      [key, json, updatedBy, version ?? null],
    );
    return rows[0] && toEntry(rows[0]);
  }

  /** Deletes the entry (only at `version` when given); returns the version it had. */
  async delete(client: pg.ClientBase, key: string, version?: number): Promise<number | undefined> {
    const { rows } = await client.query<{ version: string }>(
      'DELETE FROM config_entries WHERE key = $1 AND ($2::bigint IS NULL OR version = $2) RETURNING version',
      [key, version ?? null],
    );
    return rows[0] && Number(rows[0].version);
  }
}
