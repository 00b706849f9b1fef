import pg from 'pg';
import { redactUrl } from '#libs/config';

/** Connects once to `url`; on failure throws an error whose message names the database and the cause. */
export async function assertPostgresReachable(url: string, timeoutMs: number, role = 'database'): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const reason = (error as Error).message || (error as NodeJS.ErrnoException).code || 'unknown error';
    throw new PostgresUnreachableError(`cannot connect to the ${role} at ${redactUrl(url)}: ${reason}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class PostgresUnreachableError extends Error {
  override name = 'PostgresUnreachableError';
}
