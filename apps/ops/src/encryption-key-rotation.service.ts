import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { ControlPlaneDatabase, type Queryable } from '#libs/database';
import { CredentialCipher, OrgDatabase, OrgRegistryRepository } from '#libs/registry';

/** What rotation did to one kind of sealed value in one place. */
export interface RotationCount {
  /** Where: `control plane` or an org slug. */
  scope: string;
  /** What: `org credentials`, `webhook secrets`, `secrets`. */
  kind: string;
  reencrypted: number;
  alreadyCurrent: number;
  /** Values no configured key opens (left as they are). */
  unreadable: number;
}

/** One org database the rotation could not reach. */
export interface RotationSkip {
  slug: string;
  reason: string;
}

/** A table column of sealed values: its key column, and the column holding `CredentialCipher` text. */
interface SealedColumn {
  kind: string;
  table: string;
  key: string;
  column: string;
}

const CONTROL_PLANE_COLUMNS: SealedColumn[] = [
  { kind: 'org credentials', table: 'org_instances', key: 'org_id', column: 'credentials_encrypted' },
  { kind: 'org supabase keys', table: 'org_instances', key: 'org_id', column: 'supabase_key_encrypted' },
];
/** In every READY org database; a table missing there (an older schema) is skipped. */
const ORG_COLUMNS: SealedColumn[] = [
  { kind: 'webhook secrets', table: 'webhooks', key: 'id', column: 'secret_encrypted' },
  { kind: 'secrets', table: 'secrets', key: 'name', column: 'value_encrypted' },
];

/**
 * `npm run ops -- rotate-encryption-key`: rewrites every value sealed under an older
 * ENCRYPTION_KEY under the first one. Each value is swapped only if it still holds what
 * was read (compare-and-set), so a write racing the rotation is never undone; running it
 * again is harmless and reports nothing left to do.
 */
@Injectable()
export class EncryptionKeyRotation {
  constructor(
    private readonly cipher: CredentialCipher,
    private readonly controlPlane: ControlPlaneDatabase,
    private readonly registry: OrgRegistryRepository,
    private readonly orgDatabases: OrgDatabase,
  ) {}

  async rotate(): Promise<{ counts: RotationCount[]; skipped: RotationSkip[] }> {
    const counts: RotationCount[] = [];
    const skipped: RotationSkip[] = [];
    for (const column of CONTROL_PLANE_COLUMNS) counts.push(await this.reseal('control plane', column, this.controlPlane));
    for (const { org, instance } of await this.registry.list()) {
      if (instance.status !== 'READY') {
        if (instance.status !== 'DELETED') skipped.push({ slug: org.slug, reason: `instance is ${instance.status}` });
        continue;
      }
      try {
        await this.orgDatabases.asService(org.id, async (client) => {
          for (const column of ORG_COLUMNS) {
            if (await tableExists(client, column.table)) counts.push(await this.reseal(org.slug, column, client));
          }
        });
      } catch (error) {
        skipped.push({ slug: org.slug, reason: (error as Error).message });
      }
    }
    return { counts, skipped };
  }

  private async reseal(scope: string, { kind, table, key, column }: SealedColumn, client: Queryable): Promise<RotationCount> {
    const count: RotationCount = { scope, kind, reencrypted: 0, alreadyCurrent: 0, unreadable: 0 };
    const { rows } = await client.query<{ key: string; sealed: string }>(
      `SELECT ${key}::text AS key, ${column} AS sealed FROM ${table} WHERE ${column} IS NOT NULL`,
    );
    for (const row of rows) {
      if (this.cipher.isCurrent(row.sealed)) {
        count.alreadyCurrent++;
        continue;
      }
      let resealed: string;
      try {
        resealed = this.cipher.encrypt(this.cipher.decrypt<object>(row.sealed));
      } catch {
        count.unreadable++;
        continue;
      }
      const { rowCount } = await client.query(`UPDATE ${table} SET ${column} = $1 WHERE ${key}::text = $2 AND ${column} = $3`, [
        resealed,
        row.key,
        row.sealed,
      ]);
      if (rowCount === 1) count.reencrypted++;
    }
    return count;
  }
}

async function tableExists(client: pg.PoolClient, table: string): Promise<boolean> {
  const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
  return rows[0]?.found != null;
}
