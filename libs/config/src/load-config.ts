import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PlatformConfig } from './platform-config.js';
import { redactUrl } from './redact-url.js';

/** Thrown when the environment holds invalid settings; `problems` has one line per variable. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

// Every field has an initialiser (optional ones `= undefined`), so this lists them all.
const configKeys = Object.keys(new PlatformConfig());
const SECRET_SETTINGS = new Set(['PLATFORM_ADMIN_TOKEN', 'ENCRYPTION_KEY', 'JWT_SECRET']);

/** Reads and validates the platform's settings from `env`; empty strings count as unset. */
export function loadPlatformConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const raw: Record<string, string> = {};
  for (const key of configKeys) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const config = plainToInstance(PlatformConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const problems = errors.map((error) => {
      const reason = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
      const shown = SECRET_SETTINGS.has(error.property) ? '<hidden>' : redactUrl(raw[error.property] ?? '');
      return `${error.property}=${JSON.stringify(shown)} ${reason}`;
    });
    throw new ConfigValidationError(problems);
  }
  return config;
}
