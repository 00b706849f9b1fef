import { loadPlatformConfig, type PlatformConfig } from '#libs/config';

/** A validated PlatformConfig for tests: quiet logs, plus the given connection settings. */
export function testConfig(env: Record<string, string>): PlatformConfig {
  return loadPlatformConfig({ LOG_LEVEL: 'silent', ...env });
}
