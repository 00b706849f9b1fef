import { Injectable } from '@nestjs/common';
import pg from 'pg';
import type { OrgClaims } from '#libs/registry';
import { OrgDatabase } from '#libs/registry';

/** How long a table's policies are reused before the catalog is read again (policy DDL takes effect within this). */
const POLICY_CACHE_MS = 5_000;
/** Tables whose policies are kept at most; past it the cache starts over (it refills on the next change). */
const POLICY_CACHE_ENTRIES = 10_000;
/** Longest one visibility check may run; a policy slower than this hides the batch rather than stall delivery. */
const CHECK_TIMEOUT_MS = 5_000;

/** A column as Supabase Realtime describes it: name and Postgres type name (`int4`, `text`, `_text` ...). */
export interface ChangeColumn {
  name: string;
  type: string;
}

/** What a caller may know of a published table: its columns and which ones a DELETE carries. */
export interface TableDescription {
  columns: ChangeColumn[];
  /** The columns the table's replica identity writes for a DELETE (`old_record`): the key by default, all with FULL. */
  replicaIdentity: string[];
}

/** A table the caller cannot read (absent, or no rights on it). */
export class TableNotVisibleError extends Error {
  constructor(table: string) {
    super(`no table public.${table}`);
    this.name = 'TableNotVisibleError';
  }
}

/** What a caller may do on a private channel, as the policies on realtime.messages say. */
export interface ChannelAccess {
  /** SELECT: join the channel and receive its broadcasts and presence. */
  read: boolean;
  /** INSERT with extension `broadcast`: send broadcasts. */
  broadcast: boolean;
  /** INSERT with extension `presence`: track presence. */
  presence: boolean;
}

/** The org database cannot answer for private channels (no realtime.messages to probe). */
export class ChannelAuthorizationUnavailable extends Error {
  constructor(cause: unknown) {
    super(`private channels are not set up in the org database (${(cause as Error).message})`);
    this.name = 'ChannelAuthorizationUnavailable';
  }
}

const INSUFFICIENT_PRIVILEGE = '42501';

/** The SELECT policies of a table as role `authenticated` meets them. */
interface TablePolicies {
  /** The caller's role may SELECT from the table at all. */
  readable: boolean;
  rowSecurity: boolean;
  permissive: string[];
  restrictive: string[];
  readAt: number;
}

/**
 * Decides which row images a caller may see, the way the table's row-level security
 * would: the table's SELECT policies (USING expressions, read from the catalog and
 * cached) are evaluated over the changed rows themselves — for every row of a batch in
 * one query per table and distinct caller — as role `authenticated` with the caller's
 * claims, the way PostgREST runs queries. A DELETE is judged on its `old_record`, so
 * with REPLICA IDENTITY FULL it is exact; with the default identity only key columns
 * are known and a policy on other columns hides the delete.
 */
@Injectable()
export class RowVisibility {
  private readonly policies = new Map<string, TablePolicies>();

  constructor(private readonly database: OrgDatabase) {}

  /** The table's columns and replica identity, as the caller sees them; TableNotVisibleError when it has no rights on it. */
  describe(claims: OrgClaims, table: string): Promise<TableDescription> {
    return this.database.asCaller(claims, async (client) => {
      // information_schema shows only the columns the caller has rights on: no rights, no table.
      const { rows: columns } = await client.query<{ name: string; type: string }>(
        `SELECT column_name AS name, udt_name AS type FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      if (columns.length === 0) throw new TableNotVisibleError(table);
      const { rows } = await client.query<{ identity: string | null; keys: string[] | null }>(
        `SELECT c.relreplident AS identity,
                (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                  WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))) AS keys
           FROM pg_class c WHERE c.oid = to_regclass(format('public.%I', $1::text))`,
        [table],
      );
      const identity = rows[0]?.identity;
      const replicaIdentity = identity === 'f' ? columns.map((column) => column.name) : identity === 'n' ? [] : (rows[0]?.keys ?? []);
      return { columns, replicaIdentity };
    });
  }

  /** For each record, whether the caller's SELECT policies let it see that row. */
  async visible(claims: OrgClaims, table: string, records: Record<string, unknown>[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    // A table without row-level security (or that the role cannot read) needs no query while its policies are cached.
    const known = this.cached(claims.org_id, table);
    const settled = known && settledAnswer(known);
    if (settled !== undefined) return records.map(() => settled);
    return this.database.asCaller(claims, async (client) => {
      const policies = await this.policiesOf(claims.org_id, table, client);
      const answer = settledAnswer(policies);
      if (answer !== undefined) return records.map(() => answer);
      const restrictive = policies.restrictive.map((qual) => ` AND (${qual})`).join('');
      await client.query(`SET LOCAL statement_timeout = ${CHECK_TIMEOUT_MS}`);
      // Each record becomes a row of the table's type, named like the table, so the policy expressions read its columns as they would the table's.
      const { rows } = await client.query<{ ordinal: string }>(
        `SELECT rt_input.rt_ordinal AS ordinal
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS rt_input(rt_image, rt_ordinal)
          CROSS JOIN LATERAL jsonb_populate_record(NULL::public.${pg.escapeIdentifier(table)}, rt_input.rt_image) AS ${pg.escapeIdentifier(table)}
          WHERE ((${policies.permissive.join(') OR (')}))${restrictive}`,
        [JSON.stringify(records)],
      );
      const seen = new Set(rows.map((row) => Number(row.ordinal)));
      return records.map((_record, index) => seen.has(index + 1));
    });
  }

  /**
   * The caller's rights on the private channel `topic`, decided by Postgres itself as
   * Supabase Realtime does: probe rows of realtime.messages are inserted as the owner,
   * then, as role `authenticated` with the caller's claims and `realtime.topic()` = the
   * topic, read back (SELECT policies) and inserted again (INSERT policies), and all of it
   * rolled back. One transaction per join, never per message.
   */
  async channelAccess(claims: OrgClaims, topic: string): Promise<ChannelAccess> {
    return this.database.rolledBack(claims.org_id, async (client) => {
      await client.query(`SET LOCAL statement_timeout = ${CHECK_TIMEOUT_MS}`);
      let probes: { id: string }[];
      try {
        ({ rows: probes } = await client.query<{ id: string }>(
          `INSERT INTO realtime.messages (topic, extension, event, payload, private)
           VALUES ($1, 'broadcast', 'authorization', '{}', true), ($1, 'presence', 'authorization', '{}', true) RETURNING id`,
          [topic],
        ));
      } catch (error) {
        throw new ChannelAuthorizationUnavailable(error);
      }
      await client.query(
        `SELECT set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true), set_config('realtime.topic', $2, true)`,
        [JSON.stringify(claims), topic],
      );
      const allowed = (statement: string, params: unknown[]) => attempt(client, statement, params);
      const read = await allowed(`SELECT 1 FROM realtime.messages WHERE id = ANY($1::uuid[])`, [probes.map((probe) => probe.id)]);
      const insert = `INSERT INTO realtime.messages (topic, extension, event, payload, private) VALUES ($1, $2, 'authorization', '{}', true)`;
      return {
        read: read !== false && read.rowCount! > 0,
        broadcast: (await allowed(insert, [topic, 'broadcast'])) !== false,
        presence: (await allowed(insert, [topic, 'presence'])) !== false,
      };
    });
  }

  private cached(orgId: string, table: string): TablePolicies | undefined {
    const cached = this.policies.get(`${orgId}\u0000${table}`);
    return cached && Date.now() - cached.readAt < POLICY_CACHE_MS ? cached : undefined;
  }

  private async policiesOf(orgId: string, table: string, client: pg.PoolClient): Promise<TablePolicies> {
    const key = `${orgId}\u0000${table}`;
    const cached = this.cached(orgId, table);
    if (cached) return cached;
    const { rows } = await client.query<{ readable: boolean; row_security: boolean; permissive: boolean | null; qual: string | null }>(
      `SELECT has_table_privilege(c.oid, 'SELECT') AS readable, c.relrowsecurity AS row_security, p.polpermissive AS permissive, pg_get_expr(p.polqual, p.polrelid) AS qual
         FROM pg_class c
         LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polcmd IN ('r', '*')
              AND (0 = ANY(p.polroles) OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS r(oid) WHERE pg_has_role(current_user, r.oid, 'MEMBER')))
        WHERE c.oid = to_regclass(format('public.%I', $1::text))`,
      [table],
    );
    const policies: TablePolicies = {
      readable: rows[0]?.readable ?? false,
      rowSecurity: rows[0]?.row_security ?? true,
      permissive: rows.filter((row) => row.permissive === true).map((row) => row.qual ?? 'true'),
      restrictive: rows.filter((row) => row.permissive === false).map((row) => row.qual ?? 'true'),
      readAt: Date.now(),
    };
    if (this.policies.size >= POLICY_CACHE_ENTRIES) this.policies.clear();
    this.policies.set(key, policies);
    return policies;
  }
}

/** The same answer for every row, when the policies alone decide it. */
function settledAnswer(policies: TablePolicies): boolean | undefined {
  if (!policies.readable) return false;
  if (!policies.rowSecurity) return true;
  if (policies.permissive.length === 0) return false;
  return undefined;
}

/** Runs `statement` in a savepoint: its result, or false when row-level security or a missing grant refused it. */
async function attempt(client: pg.PoolClient, statement: string, params: unknown[]): Promise<pg.QueryResult | false> {
  await client.query('SAVEPOINT rt_attempt');
  try {
    const result = await client.query(statement, params);
    await client.query('RELEASE SAVEPOINT rt_attempt');
    return result;
  } catch (error) {
    if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    await client.query('ROLLBACK TO SAVEPOINT rt_attempt');
    return false;
  }
}
