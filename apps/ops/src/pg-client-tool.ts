import { spawn } from 'node:child_process';

export const PG_CLIENT_INSTALL_HINT =
  'install the PostgreSQL 15 client tools: Debian/Ubuntu `sudo apt-get install postgresql-client`, macOS `brew install libpq` ' +
  '(then put its bin/ on PATH); in the platform image they are already there';

/** pg_dump or pg_restore is not on PATH. */
export class PgClientToolMissingError extends Error {
  override name = 'PgClientToolMissingError';
}

/** The tool ran and failed; the message carries what it wrote to stderr. */
export class PgClientToolFailedError extends Error {
  override name = 'PgClientToolFailedError';
}

/**
 * Runs pg_dump or pg_restore against `url` (none: the tool works on its file alone, e.g.
 * `pg_restore --list`) and returns what it wrote to stdout. The password goes through
 * PGPASSWORD, not the command line, so it never shows in the process list.
 */
export async function runPgClientTool(tool: 'pg_dump' | 'pg_restore', url: string | undefined, args: string[]): Promise<string> {
  const target = url ? new URL(url) : undefined;
  const password = target ? decodeURIComponent(target.password) : '';
  if (target) target.password = '';
  const child = spawn(tool, target ? [...args, `--dbname=${target.toString()}`] : args, {
    env: { ...process.env, PGPASSWORD: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new PgClientToolMissingError(`${tool} was not found on PATH: ${PG_CLIENT_INSTALL_HINT}`) : error),
    );
    child.once('close', resolve);
  });
  if (exitCode !== 0) throw new PgClientToolFailedError(`${tool} failed (exit code ${exitCode}): ${stderr.trim()}`);
  return stdout;
}
