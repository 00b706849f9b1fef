import { config as loadDotenv } from 'dotenv';
import { fromProjectRoot, loadPlatformConfig } from '#libs/config';
import { assertPostgresReachable } from '#libs/database';
import { redisModeOf } from '#libs/redis';
import { redisDeploymentAnswers } from '#libs/runtime';

// The worker's container health check (it serves no HTTP): exits 0 when the control-plane
// Postgres and Redis it works through both answer (Postgres within HEALTH_CHECK_TIMEOUT_MS), like the
// API's /health/ready; otherwise prints which one does not and exits 1.
loadDotenv({ path: fromProjectRoot('.env'), quiet: true });
const config = loadPlatformConfig();
const problems: string[] = [];
if (!config.DATABASE_URL || (!config.REDIS_URL && redisModeOf(config) === 'standalone'))
  problems.push('DATABASE_URL and REDIS_URL (or REDIS_CLUSTER_NODES or REDIS_SENTINELS) must be set');
else {
  await assertPostgresReachable(config.DATABASE_URL, config.HEALTH_CHECK_TIMEOUT_MS, 'control-plane database').catch((error: Error) =>
    problems.push(error.message),
  );
  if (!(await redisDeploymentAnswers(config, config.HEALTH_CHECK_TIMEOUT_MS))) problems.push('Redis does not answer');
}
for (const problem of problems) process.stderr.write(`worker health: ${problem}\n`);
process.exit(problems.length ? 1 : 0);
