/** Environment variables through which the global setup hands its servers to the test files. */
export const TEST_ENV = {
  postgresUrl: 'PLATFORM_TEST_POSTGRES_URL',
  redisUrl: 'PLATFORM_TEST_REDIS_URL',
} as const;

/** Reads a variable the global setup set; a test file run without it is a setup mistake. */
export function testEnv(name: (typeof TEST_ENV)[keyof typeof TEST_ENV]): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through \`npm test\` so the global setup runs`);
  return value;
}
