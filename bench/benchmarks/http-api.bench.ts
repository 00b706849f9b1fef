import { createServer } from 'node:http';
import type { BenchEnvironment } from '../bench-environment.js';
import { httpJson } from '../http-client.js';
import { startBenchPlatform } from '../bench-platform.js';
import type { AddressInfo } from 'node:net';
import { median, round, throughput, type Benchmark } from '../measure.js';

const WARMUP_REQUESTS = 2000;
const ROUNDS = 5;
const REQUESTS_PER_ROUND = 4000;
const CONCURRENCY = 32;

/** HTTP requests/s through the whole API stack (logging, metrics, validation) against a bare node:http server. */
export const httpApiBenchmark: Benchmark = {
  name: 'http',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment);
    const apiUrl = `${platform.baseUrl}/health/live`;

    const bare = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/health/live`;

    const get = (url: string) => () => httpJson(url, 'GET', {});
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
      await platform.stop();
      await new Promise((resolve) => bare.close(resolve));
    }
  },
};
