import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiApp } from '../../apps/api/src/create-api-app.js';
import { controlPlaneMigrationsDir, runMigrations } from '#libs/database';
import { loadPlatformConfig } from '#libs/config';
import { createLogger } from '#libs/logging';
import type { BenchEnvironment } from '../bench-environment.js';
import { median, round, throughput, type Benchmark } from '../measure.js';

const WARMUP_REQUESTS = 2000;
const ROUNDS = 5;
const REQUESTS_PER_ROUND = 4000;
const CONCURRENCY = 32;

/** HTTP requests/s through the whole API stack (logging, metrics, validation) against a bare node:http server. */
export const httpApiBenchmark: Benchmark = {
  name: 'http',
  async run(environment: BenchEnvironment) {
    await runMigrations(environment.postgresUrl, controlPlaneMigrationsDir());
    const config = loadPlatformConfig({
      DATABASE_URL: environment.postgresUrl,
      REDIS_URL: environment.redisUrl,
      REDIS_PREFIX: 'bench',
      LOG_LEVEL: 'silent',
      PLATFORM_ADMIN_TOKEN: 'plat_admin_bench-token-0123456789abcdefghijkl',
    });
    const app = await createApiApp(config, createLogger('bench', 'silent'));
    await app.listen(0, '127.0.0.1');
    const apiUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/health/live`;

    const bare = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/health/live`;

    const get = (url: string) => async () => {
      const response = await fetch(url);
      await response.arrayBuffer();
    };
    try {
      await throughput(WARMUP_REQUESTS, CONCURRENCY, get(apiUrl));
      await throughput(WARMUP_REQUESTS, CONCURRENCY, get(bareUrl));
      const api: number[] = [];
      const baseline: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        api.push(await throughput(REQUESTS_PER_ROUND, CONCURRENCY, get(apiUrl)));
        baseline.push(await throughput(REQUESTS_PER_ROUND, CONCURRENCY, get(bareUrl)));
      }
      const value = median(api);
      const baselineValue = median(baseline);
      return [
        {
          name: 'http.health_live',
          value: round(value),
          unit: 'req/s',
          samples: ROUNDS * REQUESTS_PER_ROUND,
          concurrency: CONCURRENCY,
          baseline: { name: 'node_http.bare', value: round(baselineValue), unit: 'req/s' },
          ratio: round(value / baselineValue),
        },
      ];
    } finally {
      await app.close();
      await new Promise((resolve) => bare.close(resolve));
    }
  },
};
