import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { withPgClient } from '#libs/database';
import { CredentialCipher } from './credential-cipher.js';
import { OrgClusters } from './org-clusters.js';
import { OrgConnection } from './org-connection.js';
import type { InstanceCredentials, OrgInstance } from './org-instance.js';
import { OrgRegistryRepository } from './org-registry.repository.js';
import { OrgSchemaMigrator } from './org-schema.migrator.js';
import { REALTIME_MARKER } from './relay-census.js';

/** Name of the publication the realtime relay reads in every org database. */
export const REALTIME_PUBLICATION = 'platform_realtime';

/**
 * Keeps the database-level marker REALTIME_MARKER (`on`/`off`) equal to whether the
 * publication holds a table, after every DDL command (CREATE/DROP TABLE, ALTER PUBLICATION):
 * the marker sits in a shared catalog, so the relay supervisor learns which of hundreds of
 * org databases want a relay from one query per cluster instead of one per org. Created by
 * the cluster admin (event triggers need a superuser); the functions run as their owner so
 * any role's DDL updates the marker. They live in a schema of the admin's own, which org
 * backups leave out (the org's role could not restore them).
 */
export const REALTIME_MARKER_SCHEMA = 'platform_relay';
const REALTIME_MARKER_SQL = `
  CREATE SCHEMA IF NOT EXISTS ${REALTIME_MARKER_SCHEMA};
  REVOKE ALL ON SCHEMA ${REALTIME_MARKER_SCHEMA} FROM PUBLIC;
  CREATE OR REPLACE FUNCTION ${REALTIME_MARKER_SCHEMA}.sync_marker() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  DECLARE
    wanted text := CASE WHEN EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = '${REALTIME_PUBLICATION}') THEN 'on' ELSE 'off' END;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                    WHERE d.datname = current_database() AND s.setrole = 0 AND '${REALTIME_MARKER}=' || wanted = ANY (s.setconfig)) THEN
      EXECUTE format('ALTER DATABASE %I SET ${REALTIME_MARKER} = %L', current_database(), wanted);
    END IF;
  END
  $f$;
  REVOKE ALL ON FUNCTION ${REALTIME_MARKER_SCHEMA}.sync_marker() FROM PUBLIC;
  CREATE OR REPLACE FUNCTION ${REALTIME_MARKER_SCHEMA}.sync_marker_on_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  BEGIN
    PERFORM ${REALTIME_MARKER_SCHEMA}.sync_marker();
  END
  $f$;
  REVOKE ALL ON FUNCTION ${REALTIME_MARKER_SCHEMA}.sync_marker_on_ddl() FROM PUBLIC;
  DROP EVENT TRIGGER IF EXISTS platform_realtime_marker;
  CREATE EVENT TRIGGER platform_realtime_marker ON ddl_command_end EXECUTE FUNCTION ${REALTIME_MARKER_SCHEMA}.sync_marker_on_ddl();
  SELECT ${REALTIME_MARKER_SCHEMA}.sync_marker();`;
const INSUFFICIENT_PRIVILEGE = '42501';
const SUPABASE_ROLES = ['anon', 'authenticated', 'service_role'] as const;

/** What an org's realtime publication holds: every table of `public` (also those made later), or the listed ones. */
export interface PublishedTables {
  /** `all`: FOR TABLES IN SCHEMA public; `listed`: exactly `tables`. */
  scope: 'all' | 'listed';
  /** The tables published now. */
  tables: string[];
}

/** Tables named for the publication that the org's `public` schema lacks. */
export class UnknownTablesError extends Error {
  override name = 'UnknownTablesError';
}

/** A provisioning failure that retrying will not fix (e.g. wal_level is not logical). */
export class PermanentProvisioningError extends Error {
  override name = 'PermanentProvisioningError';
}

/**
 * The steps that make an org's database ready, and tear it down. Every step checks
 * before it acts, so a job that died half-way is simply run again from the start.
 */
@Injectable()
export class OrgProvisioner {
  constructor(
    private readonly registry: OrgRegistryRepository,
    private readonly clusters: OrgClusters,
    private readonly cipher: CredentialCipher,
    private readonly connection: OrgConnection,
    private readonly migrator: OrgSchemaMigrator,
  ) {}

  /** PENDING/PROVISIONING/FAILED → READY; returns false when the instance is not to be provisioned (deleted meanwhile). */
  async provision(orgId: string): Promise<boolean> {
    const found = await this.registry.findById(orgId);
    if (!found || !(await this.registry.transition(orgId, ['PENDING', 'PROVISIONING', 'FAILED'], 'PROVISIONING'))) return false;
    const { instance } = found;
    // One job at a time per org, even if a stalled job and its retry overlap.
    await withPgClient(
      instance.driver === 'cluster' ? this.clusters.adminUrl(instance.cluster!) : this.connection.ownerUrl(instance),
      async (lock) => {
        await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`org-provisioning:${orgId}`]);
        if (instance.driver === 'cluster') await this.createDatabaseAndRole(instance);
        else await this.checkExternal(instance);
        const { schemaVersion } = await this.migrator.migrate(instance);
        await this.secureAndPublish(instance);
        await this.registry.transition(orgId, ['PROVISIONING'], 'READY', { lastError: null, schemaVersion });
      },
    );
    return true;
  }

  /** What the org's realtime publication holds. */
  async publishedTables(instance: OrgInstance): Promise<PublishedTables> {
    return withPgClient(this.connection.adminUrl(instance), (client) => readPublished(client));
  }

  /**
   * Publishes every table of `public` (`tables` null: also tables made later) or exactly
   * `tables` (of `public`; an empty list publishes nothing, so the org holds no slot). The
   * database's marker follows by itself, and with it whether the org holds a relay.
   */
  async publish(instance: OrgInstance, tables: string[] | null): Promise<PublishedTables> {
    return withPgClient(this.connection.adminUrl(instance), async (client) => {
      if (tables === null) {
        await client.query(`ALTER PUBLICATION ${REALTIME_PUBLICATION} SET TABLES IN SCHEMA public`);
        return readPublished(client);
      }
      const { rows } = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)`,
        [tables],
      );
      const known = new Set(rows.map((row) => row.name));
      const unknown = tables.filter((table) => !known.has(table));
      if (unknown.length) throw new UnknownTablesError(`no table ${unknown.map((name) => `"${name}"`).join(', ')} in schema public`);
      await client.query('BEGIN');
      try {
        // An empty table list cannot be SET: the publication is made again with nothing in it.
        if (tables.length === 0) {
          await client.query(`DROP PUBLICATION ${REALTIME_PUBLICATION}`);
          await client.query(`CREATE PUBLICATION ${REALTIME_PUBLICATION}`);
        } else {
          const list = tables.map((table) => `public.${pg.escapeIdentifier(table)}`).join(', ');
          await client.query(`ALTER PUBLICATION ${REALTIME_PUBLICATION} SET TABLE ${list}`);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return readPublished(client);
    });
  }

  /** Records a provisioning failure on the instance. */
  async fail(orgId: string, reason: string): Promise<void> {
    await this.registry.transition(orgId, ['PENDING', 'PROVISIONING'], 'FAILED', { lastError: reason });
  }

  /** DEPROVISIONING → DELETED: ends its connections, drops its replication slots, database and role. */
  async deprovision(orgId: string): Promise<boolean> {
    const found = await this.registry.findById(orgId);
    if (!found || found.instance.status !== 'DEPROVISIONING') return false;
    const { instance } = found;
    if (instance.driver === 'cluster') {
      await withPgClient(this.clusters.adminUrl(instance.cluster!), async (admin) => {
        // No new connection (a relay reconnecting to its slot, say) while the database goes away.
        const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [instance.databaseName]);
        if (exists.rowCount)
          await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(instance.databaseName!)} WITH ALLOW_CONNECTIONS false`);
        await dropReplicationSlots(admin, instance.databaseName!);
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(instance.databaseName!)} WITH (FORCE)`);
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [instance.loginRole]);
        await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(instance.loginRole!)}`);
      });
    } else {
      // An adopted database belongs to its owner: release what the platform made in it, keep the data.
      await withPgClient(this.connection.adminUrl(instance), async (client) => {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        await dropReplicationSlots(client, rows[0]!.db);
        await client.query(`DROP PUBLICATION IF EXISTS ${REALTIME_PUBLICATION}`);
      });
    }
    await this.registry.markDeleted(orgId);
    await this.registry.audit({ actor: 'worker', action: 'org.deprovisioned', orgId });
    return true;
  }

  private async createDatabaseAndRole(instance: OrgInstance): Promise<void> {
    const { password } = this.cipher.decrypt<InstanceCredentials>(instance.credentialsEncrypted) as { password: string };
    const role = pg.escapeIdentifier(instance.loginRole!);
    const database = pg.escapeIdentifier(instance.databaseName!);
    await withPgClient(this.clusters.adminUrl(instance.cluster!), async (admin) => {
      await admin.query('BEGIN');
      // Roles are cluster-wide: serialise their creation across concurrent provisioning jobs.
      await admin.query(`SELECT pg_advisory_xact_lock(hashtext('org-provisioning:cluster-roles'))`);
      for (const name of SUPABASE_ROLES) {
        // An advisory lock holds only within one database: a provisioner working from another
        // database of the cluster may create the same role at the same moment. The block's
        // own subtransaction takes that duplicate without ending this transaction.
        await admin.query(
          `DO $$ BEGIN
             IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}') THEN
               CREATE ROLE ${name} NOLOGIN NOINHERIT${name === 'service_role' ? ' BYPASSRLS' : ''};
             END IF;
           EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
           END $$`,
        );
      }
      const roleExists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [instance.loginRole]);
      await admin.query(`${roleExists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${role} WITH LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
      await admin.query(`GRANT ${SUPABASE_ROLES.join(', ')} TO ${role}`);
      await admin.query('COMMIT');
      const databaseExists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [instance.databaseName]);
      if (databaseExists.rowCount === 0) await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
      // No other org's role (nor anyone else) may even connect.
      await admin.query(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
      await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${role}`);
    });
  }

  private async checkExternal(instance: OrgInstance): Promise<void> {
    await withPgClient(this.connection.ownerUrl(instance), async (client) => {
      const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
      if (rows[0]?.wal_level !== 'logical') {
        throw new PermanentProvisioningError(
          `the database has wal_level=${rows[0]?.wal_level}; the realtime relay needs wal_level=logical`,
        );
      }
    });
  }

  /**
   * Enables RLS on every table of `public` (whatever a migration forgot), publishes the org's own
   * tables (schema `public`; the platform's live in `platform` and are never published)
   * for the realtime relay, and installs the marker telling whether a relay is wanted.
   */
  private async secureAndPublish(instance: OrgInstance): Promise<void> {
    await withPgClient(this.connection.adminUrl(instance), async (client) => {
      const { rows } = await client.query<{ name: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relrowsecurity`,
      );
      for (const { name } of rows) await client.query(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
      const published = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [REALTIME_PUBLICATION]);
      if (published.rowCount === 0) await client.query(`CREATE PUBLICATION ${REALTIME_PUBLICATION} FOR TABLES IN SCHEMA public`);
      await client.query(REALTIME_MARKER_SQL).catch((error: { code?: string }) => {
        // An adopted database whose URL is no superuser's: no marker, so the relay runs whether or not anything is published.
        if (error.code !== INSUFFICIENT_PRIVILEGE) throw error;
      });
    });
  }
}

async function readPublished(client: pg.Client): Promise<PublishedTables> {
  const scope = await client.query(
    `SELECT 1 FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid WHERE p.pubname = $1`,
    [REALTIME_PUBLICATION],
  );
  const { rows } = await client.query<{ tablename: string }>(
    `SELECT tablename FROM pg_publication_tables WHERE pubname = $1 AND schemaname = 'public' ORDER BY tablename`,
    [REALTIME_PUBLICATION],
  );
  return { scope: scope.rowCount ? 'all' : 'listed', tables: rows.map((row) => row.tablename) };
}

/** How long deprovisioning waits for a terminated relay to let go of its slot before the job fails and retries. */
const SLOT_RELEASE_TIMEOUT_MS = 30_000;
const SLOT_RELEASE_POLL_MS = 100;
const OBJECT_IN_USE = '55006';

/**
 * Drops every replication slot of `database`. A relay holding a slot is terminated, and
 * its walsender releases the slot a moment later (or a relay reconnects first): a slot
 * is only dropped while no one holds it, so this terminates and retries until none is left.
 */
async function dropReplicationSlots(admin: pg.Client, database: string): Promise<void> {
  const deadline = Date.now() + SLOT_RELEASE_TIMEOUT_MS;
  for (;;) {
    await admin.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [
      database,
    ]);
    await admin
      .query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [database])
      .catch((error: { code?: string }) => {
        // Taken again between the read and the drop: terminate and try once more.
        if (error.code !== OBJECT_IN_USE) throw error;
      });
    const remaining = await admin.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [database]);
    if (remaining.rowCount === 0) return;
    if (Date.now() > deadline) throw new Error(`replication slots of ${database} are still held after ${SLOT_RELEASE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, SLOT_RELEASE_POLL_MS));
  }
}
