import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startInProcessPlatform } from '../../apps/platform/src/in-process-platform.js';
import { loadPlatformConfig } from '#libs/config';
import { controlPlaneMigrationsDir, runMigrations } from '#libs/database';
import { createLogger } from '#libs/logging';
import { dropOrgDatabases } from '#libs/testing';
import type { BenchEnvironment } from '../bench-environment.js';
import { median, percentile, round, type Benchmark } from '../measure.js';

const WARMUP_ORGS = 2;
const SAMPLES = 15;
const POLL_MS = 5;
const ADMIN_TOKEN = 'plat_admin_bench-token-0123456789abcdefghijkl';

/** Median time from POST /v1/admin/orgs to READY, beside a bare CREATE DATABASE on the same server. */
export const orgProvisioningBenchmark: Benchmark = {
  name: 'orgs',
  async run(environment: BenchEnvironment) {
    const admin = new pg.Client({ connectionString: environment.postgresUrl });
    await admin.connect();
    const controlDatabase = `bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${controlDatabase}`);
    const controlUrl = Object.assign(new URL(environment.postgresUrl), { pathname: `/${controlDatabase}` }).toString();
    await runMigrations(controlUrl, controlPlaneMigrationsDir());
    const config = loadPlatformConfig({
      DATABASE_URL: controlUrl,
      REDIS_URL: environment.redisUrl,
      REDIS_PREFIX: `bench-${controlDatabase}`,
      LOG_LEVEL: 'silent',
      PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      JWT_SECRET: randomBytes(32).toString('hex'),
    });
    const platform = await startInProcessPlatform(config, createLogger('bench', 'silent'), { withWorker: true });

    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const provisionOne = async (slug: string) => {
      const started = performance.now();
      const created = await fetch(`${platform.baseUrl}/v1/admin/orgs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ slug, name: slug }),
      });
      if (created.status !== 202) throw new Error(`create answered ${created.status}`);
      for (;;) {
        const { instance } = (await (await fetch(`${platform.baseUrl}/v1/admin/orgs/${slug}`, { headers })).json()) as {
          instance: { status: string };
        };
        if (instance.status === 'READY') return performance.now() - started;
        if (instance.status === 'FAILED') throw new Error(`${slug} FAILED`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    const createDatabaseOnce = async (name: string) => {
      const started = performance.now();
      await admin.query(`CREATE DATABASE ${name}`);
      const elapsed = performance.now() - started;
      await admin.query(`DROP DATABASE ${name}`);
      return elapsed;
    };

    try {
      for (let i = 0; i < WARMUP_ORGS; i++) await provisionOne(`warm-${i}`);
      const provisioning: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        provisioning.push(await provisionOne(`sample-${i}`));
        baseline.push(await createDatabaseOnce(`bench_raw_${i}`));
      }
      const value = median(provisioning);
      const baselineValue = median(baseline);
      return [
        {
          name: 'orgs.create_to_ready.median',
          value: round(value),
          unit: 'ms',
          samples: SAMPLES,
          p99: round(percentile(provisioning, 0.99)),
          baseline: { name: 'postgres.create_database', value: round(baselineValue), unit: 'ms' },
          ratio: round(value / baselineValue),
        },
      ];
    } finally {
      await platform.close();
      await dropOrgDatabases(controlUrl);
      await admin.query(`DROP DATABASE ${controlDatabase} WITH (FORCE)`);
      await admin.end();
    }
  },
};
