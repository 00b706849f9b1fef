import { Injectable } from '@nestjs/common';
import { OrgDatabase, type OrgClaims } from '#libs/registry';

/** A secret as callers see it: never its value. */
export interface SecretSummary {
  name: string;
  createdAt: string;
  updatedAt: string;
}

interface SummaryRow {
  name: string;
  created_at: Date;
  updated_at: Date;
}

const toSummary = (row: SummaryRow): SecretSummary => ({
  name: row.name,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/**
 * SQL of the org database's `secrets`. Callers' queries run under their claims, where the
 * database itself lets only admins write and grants nobody the sealed value; only the
 * platform (service_role) reads it back, to start a task.
 */
@Injectable()
export class SecretRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /**
   * Creates or replaces the secret. Not one upsert: callers may not read the sealed column,
   * which ON CONFLICT DO UPDATE would need; a racing create is caught by the second update.
   */
  async upsert(claims: OrgClaims, name: string, valueEncrypted: string): Promise<void> {
    await this.orgDatabase.asCaller(claims, async (client) => {
      const update = () =>
        client.query('UPDATE secrets SET value_encrypted = $2, updated_at = now() WHERE name = $1', [name, valueEncrypted]);
      if ((await update()).rowCount) return;
      const inserted = await client.query('INSERT INTO secrets (name, value_encrypted) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
        name,
        valueEncrypted,
      ]);
      if (!inserted.rowCount) await update();
    });
  }

  async list(claims: OrgClaims): Promise<SecretSummary[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<SummaryRow>('SELECT name, created_at, updated_at FROM secrets ORDER BY name'),
    );
    return rows.map(toSummary);
  }

  /** Of `names`, those the org has. */
  async existing(claims: OrgClaims, names: string[]): Promise<string[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<{ name: string }>('SELECT name FROM secrets WHERE name = ANY($1::text[])', [names]),
    );
    return rows.map((row) => row.name);
  }

  async delete(claims: OrgClaims, name: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) => client.query('DELETE FROM secrets WHERE name = $1', [name]));
    return (rowCount ?? 0) > 0;
  }

  /** The sealed values of `names` the org has, read as the platform itself. */
  async sealedValues(orgId: string, names: string[]): Promise<Map<string, string>> {
    const { rows } = await this.orgDatabase.asService(orgId, (client) =>
      client.query<{ name: string; value_encrypted: string }>('SELECT name, value_encrypted FROM secrets WHERE name = ANY($1::text[])', [
        names,
      ]),
    );
    return new Map(rows.map((row) => [row.name, row.value_encrypted]));
  }
}
