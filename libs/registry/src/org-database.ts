import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { OrgPoolCache } from './org-pool-cache.js';

/** Claims a request runs under inside its org database, as PostgREST would set them from a JWT. */
export interface OrgClaims {
  sub: string;
  role: 'authenticated';
  org_id: string;
  app_role: 'admin' | 'member' | 'viewer';
}

/**
 * `value` as an SQL string literal, exactly as pg's `escapeLiteral` writes it (quotes
 * doubled; with a backslash, doubled backslashes in an E'' literal), but by two native
 * replaces instead of pg's character-by-character concatenation: a batch's rows go as
 * one JSON literal of tens of kilobytes, which pg's loop took about 5 µs per kilobyte to
 * build, into a string that then had to be flattened again to be sent.
 */
export function escapeLiteral(value: string): string {
  const quoted = `'${value.replaceAll("'", "''")}'`;
  return value.includes('\\') ? ` E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/** Runs queries in an org's database so that its row-level security decides, not only the API. */
@Injectable()
export class OrgDatabase {
  constructor(private readonly pools: OrgPoolCache) {}

  /**
   * Runs `work` in one transaction as role `authenticated` with `request.jwt.claims` set
   * to `claims`, both local to the transaction, exactly as PostgREST does.
   */
  async asCaller<T>(claims: OrgClaims, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.inTransaction(claims.org_id, async (client) => {
      await client.query(`SELECT set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)`, [
        JSON.stringify(claims),
      ]);
      return work(client);
    });
  }

  /** Runs `work` in one transaction as the platform itself (`service_role`, which bypasses RLS): workers persisting state. */
  async asService<T>(orgId: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.inTransaction(orgId, async (client) => {
      await client.query(`SELECT set_config('role', 'service_role', true)`);
      return work(client);
    });
  }

  /**
   * Runs `statements` (SQL text without parameters: the caller escapes its values) in one
   * transaction as the platform, like `asService`, but sent as one simple query so that
   * the whole transaction costs one round trip; returns each statement's result, the
   * transaction's own (BEGIN, role, COMMIT) left out.
   */
  async asServiceInOneTrip(orgId: string, statements: (escapeLiteral: (value: string) => string) => string): Promise<pg.QueryResult[]> {
    const client = await this.pools.connect(orgId);
    let broken: Error | undefined;
    try {
      const text = `BEGIN; SELECT set_config('role', 'service_role', true); ${statements(escapeLiteral)}; COMMIT`;
      const results = (await client.query(text)) as unknown as pg.QueryResult[];
      return results.slice(2, -1);
    } catch (error) {
      // A failed statement leaves the transaction aborted (the rest of the text is skipped).
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `work` in one transaction, as the org database's owner, that is always rolled
   * back: for questions answered by trying (may this caller insert that row?).
   */
  async rolledBack<T>(orgId: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.inTransaction(orgId, work, 'ROLLBACK');
  }

  private async inTransaction<T>(orgId: string, work: (client: pg.PoolClient) => Promise<T>, end = 'COMMIT'): Promise<T> {
    const client = await this.pools.connect(orgId);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(end);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.release(broken);
    }
  }
}
