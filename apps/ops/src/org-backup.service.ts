import { Injectable } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrgConnection, OrgRegistryRepository, REALTIME_MARKER_SCHEMA, type OrgWithInstance } from '#libs/registry';
import { StartupError } from '#libs/runtime';
import { runPgClientTool } from './pg-client-tool.js';

/** Archive entries the org's role may neither drop nor create: the realtime marker's event trigger (and any in older backups, its schema). */
const ADMIN_OWNED_ENTRY = new RegExp(` EVENT TRIGGER | ${REALTIME_MARKER_SCHEMA} `);

/**
 * Backs up and restores one org's database with pg_dump/pg_restore, logged in as the
 * org's own role, so a backup holds exactly what that org owns and a restore can touch
 * nothing else. The realtime publication is left out both ways, and so is the realtime
 * marker (its event trigger and functions) on restore: they belong to the cluster admin
 * (provisioning made them) and stay in place across a restore.
 */
@Injectable()
export class OrgBackupService {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly connection: OrgConnection,
  ) {}

  /** Writes the org's database to `file` in pg_dump's custom format (compressed, restorable table by table). */
  async backup(slug: string, file: string): Promise<void> {
    const { instance } = await this.readyOrg(slug);
    await runPgClientTool('pg_dump', this.connection.ownerUrl(instance), [
      '--format=custom',
      '--no-publications',
      `--exclude-schema=${REALTIME_MARKER_SCHEMA}`,
      `--file=${file}`,
    ]);
  }

  /**
   * Replaces what the dump in `file` holds (schemas, tables, data, policies) in the org's
   * database, in one transaction: a restore that fails leaves the database as it was.
   */
  async restore(slug: string, file: string): Promise<void> {
    const { instance } = await this.readyOrg(slug);
    if (!existsSync(file)) throw new StartupError(`no backup file at ${file}`);
    const toc = await runPgClientTool('pg_restore', undefined, ['--list', file]);
    const folder = await mkdtemp(join(tmpdir(), 'platform-restore-'));
    try {
      const list = join(folder, 'objects.list');
      await writeFile(
        list,
        toc
          .split('\n')
          .filter((line) => !ADMIN_OWNED_ENTRY.test(line))
          .join('\n'),
      );
      await runPgClientTool('pg_restore', this.connection.ownerUrl(instance), [
        '--clean',
        '--if-exists',
        '--single-transaction',
        '--no-owner',
        '--no-publications',
        `--use-list=${list}`,
        file,
      ]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** The live org with `slug` whose database is READY; a clear error otherwise. */
  async readyOrg(slug: string): Promise<OrgWithInstance> {
    const found = await this.registry.findBySlug(slug);
    if (!found) throw new StartupError(`no organization with slug "${slug}" (\`npm run ops -- status\` lists them)`);
    if (found.instance.status !== 'READY')
      throw new StartupError(`organization "${slug}" has no ready database: its instance is ${found.instance.status}`);
    return found;
  }
}
