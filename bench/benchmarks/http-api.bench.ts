import { findFreePort } from '#libs/runtime';
import { cpuMs, forkBenchChild } from '../bench-children.js';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses } from '../bench-platform.js';
import { compared, interleave, percentile, round, spread, type Benchmark } from '../measure.js';

const WARMUP_REQUESTS = 3000;
const ROUNDS = 5;
const REQUESTS_PER_ROUND = 5000;
const CONCURRENCY = 32;
const TASK_ROUNDS = 3;
const TASKS_PER_ROUND = 1500;
const TASK_CONCURRENCY = 16;

interface Outcome {
  rate: number;
  latencies: number[];
  /** CPU the server process spent per request, in µs: steadier than rates on a busy machine. */
  cpuUs?: number;
}

/**
 * HTTP requests/s through the whole API stack (request logging, metrics, guards,
 * validation) of the built API process, against a bare node:http server in a process of
 * its own, driven by one load-generator process, A B A B; and an authenticated, validated
 * `POST /v1/tasks` (the worker running what it creates).
 */
export const httpApiBenchmark: Benchmark = {
  name: 'http',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment);
    const barePort = await findFreePort();
    const bare = await forkBenchChild('bare-http.process.js', [String(barePort)]);
    const load = await forkBenchChild('load-generator.process.js');
    const get = (url: string, pid: number, count: number) => async () => {
      const cpuBefore = await cpuMs(pid);
      const outcome = await load.request<Outcome>({ kind: 'http', url, method: 'GET', count, concurrency: CONCURRENCY, expect: [200] });
      return { ...outcome, cpuUs: (1000 * ((await cpuMs(pid)) - cpuBefore)) / count };
    };
    const apiUrl = `${platform.baseUrl}/health/live`;
    const bareUrl = `http://127.0.0.1:${barePort}/health/live`;
    try {
      await get(apiUrl, platform.apiPid, WARMUP_REQUESTS)();
      await get(bareUrl, bare.pid, WARMUP_REQUESTS)();
      const health = await interleave(ROUNDS, get(apiUrl, platform.apiPid, REQUESTS_PER_ROUND), get(bareUrl, bare.pid, REQUESTS_PER_ROUND));

      const org = await platform.createOrg('bench-http');
      const createTasks = (count: number) => () =>
        load.request<Outcome>({
          kind: 'http',
          url: `${platform.baseUrl}/v1/tasks`,
          method: 'POST',
          headers: { authorization: `Bearer ${org.token}` },
          body: { type: 'noop', params: {} },
          count,
          concurrency: TASK_CONCURRENCY,
          expect: [201],
        });
      await createTasks(TASKS_PER_ROUND / 3)();
      const tasks: Outcome[] = [];
      for (let i = 0; i < TASK_ROUNDS; i++) tasks.push(await createTasks(TASKS_PER_ROUND)());
      return [
        compared(
          'http.health_live',
          'req/s',
          health.a.map((r) => r.rate),
          'node_http.bare',
          health.b.map((r) => r.rate),
          { samples: ROUNDS * REQUESTS_PER_ROUND, concurrency: CONCURRENCY },
        ),
        compared(
          'http.health_live.cpu_per_request',
          'µs',
          health.a.map((r) => r.cpuUs!),
          'node_http.bare.cpu_per_request',
          health.b.map((r) => r.cpuUs!),
          { samples: ROUNDS * REQUESTS_PER_ROUND, concurrency: CONCURRENCY },
        ),
        {
          name: 'http.create_task',
          ...spread(tasks.map((r) => r.rate)),
          unit: 'req/s',
          samples: TASK_ROUNDS * TASKS_PER_ROUND,
          concurrency: TASK_CONCURRENCY,
          p99Ms: round(
            percentile(
              tasks.flatMap((r) => r.latencies),
              0.99,
            ),
          ),
        },
      ];
    } finally {
      await load.stop();
      await bare.stop();
      await platform.stop();
    }
  },
};
