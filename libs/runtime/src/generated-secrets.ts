import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface GeneratedSecrets {
  ENCRYPTION_KEY: string;
  JWT_SECRET: string;
}

/**
 * Secrets for a single-machine install that did not set ENCRYPTION_KEY or JWT_SECRET:
 * generated once into `file` (mode 0600) and read back at every start, so processes on
 * the same machine agree. Several machines must set both in the environment instead.
 */
export async function loadOrCreateSecrets(file: string, logger: Logger): Promise<GeneratedSecrets> {
  if (!existsSync(file)) {
    const secrets: GeneratedSecrets = {
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      JWT_SECRET: randomBytes(48).toString('base64url'),
    };
    await mkdir(dirname(file), { recursive: true });
    try {
      // `wx`: when two processes start together, the first write wins and the other reads it.
      await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      logger.warn({ file }, 'generated ENCRYPTION_KEY and JWT_SECRET; set both in the environment when running more than one machine');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return JSON.parse(await readFile(file, 'utf8')) as GeneratedSecrets;
}
