import pg from 'pg';

/** Runs `work` on a connection of its own to `url`, closed afterwards (for admin work outside the pools). */
export async function withPgClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // Errors of an idle connection surface through the query that hits them.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
