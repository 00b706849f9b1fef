import pg from 'pg';
import { withPgClient } from '#libs/database';

/** Drops every org database and login role the registry in `controlPlaneUrl` knows of. */
export async function dropOrgDatabases(controlPlaneUrl: string): Promise<void> {
  await withPgClient(controlPlaneUrl, async (client) => {
    const { rows } = await client.query<{ database_name: string; login_role: string }>(
      `SELECT database_name, login_role FROM org_instances WHERE driver = 'cluster'`,
    );
    for (const row of rows) {
      await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [
        row.database_name,
      ]);
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(row.database_name)} WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(row.login_role)}`);
    }
  });
}
