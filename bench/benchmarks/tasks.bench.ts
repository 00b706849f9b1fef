import { spawn } from 'node:child_process';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses, type BenchPlatformProcesses } from '../bench-platform.js';
import { median, round, throughput, type Benchmark } from '../measure.js';

const CONCURRENCY = 16;
const WARMUP_TASKS = 300;
const TASKS_PER_ROUND = 1500;
const ROUNDS = 3;
const LOG_LINES = 200_000;
const POLL_MS = 20;

/** Tasks created over HTTP (API and worker in processes of their own) until their history rows are all in the org database. */
async function endToEnd(platform: BenchPlatformProcesses, org: { token: string; database: string }, count: number): Promise<number> {
  const [{ n: before }] = await platform.sql<{ n: string }>(org.database, `SELECT count(*) AS n FROM tasks WHERE type = 'noop'`);
  const started = performance.now();
  await throughput(count, CONCURRENCY, () => platform.call('POST', '/v1/tasks', { type: 'noop' }, org.token));
  for (;;) {
    const [{ n }] = await platform.sql<{ n: string }>(org.database, `SELECT count(*) AS n FROM tasks WHERE type = 'noop'`);
    if (Number(n) - Number(before) >= count) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return count / ((performance.now() - started) / 1000);
}

/** Bare BullMQ on the same Redis: add `count` jobs and process them with a no-op worker of the same concurrency. */
async function bareBullmq(redisUrl: string, count: number): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const name = `bench-bare-${Date.now()}`;
  const queue = new Queue(name, { connection, prefix: 'bench-bare' });
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker(name, async () => undefined, { connection, prefix: 'bench-bare', concurrency: CONCURRENCY });
    worker.on('completed', () => {
      if (++done === count) void worker.close().then(resolve);
    });
  });
  const started = performance.now();
  await throughput(count, CONCURRENCY, () => queue.add('noop', {}, { removeOnComplete: true }));
  await finished;
  const rate = count / ((performance.now() - started) / 1000);
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return rate;
}

/** Lines per second from a child process's stdout, read bare. */
function bareLines(lines: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('seq', ['1', String(lines)], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', () => undefined);
    child.once('error', reject);
    child.once('close', () => resolve(lines / ((performance.now() - started) / 1000)));
  });
}

/** One shell task printing `lines` lines, from creation until SUCCESS with every chunk in Redis. */
async function taskLines(platform: BenchPlatformProcesses, token: string, lines: number): Promise<number> {
  const started = performance.now();
  const task = await platform.call('POST', '/v1/tasks', { type: 'shell', params: { command: 'seq', args: ['1', String(lines)] } }, token);
  for (;;) {
    const current = await platform.call('GET', `/v1/tasks/${task.id}`, undefined, token);
    if (current.status === 'SUCCESS') break;
    if (current.status === 'FAILED') throw new Error(current.error);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return lines / ((performance.now() - started) / 1000);
}

/** End-to-end tasks/s against bare BullMQ, and log lines/s through one task against reading the process bare. */
export const tasksBenchmark: Benchmark = {
  name: 'tasks',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment, { TASK_CONCURRENCY: String(CONCURRENCY), TASK_SHELL_ALLOW: 'seq' });
    try {
      const org = await platform.createOrg('bench-tasks');
      await endToEnd(platform, org, WARMUP_TASKS);
      await bareBullmq(environment.redisUrl, WARMUP_TASKS);
      const tasks: number[] = [];
      const bare: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        tasks.push(await endToEnd(platform, org, TASKS_PER_ROUND));
        bare.push(await bareBullmq(environment.redisUrl, TASKS_PER_ROUND));
      }
      const lines: number[] = [];
      const bareLineRates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        lines.push(await taskLines(platform, org.token, LOG_LINES));
        bareLineRates.push(await bareLines(LOG_LINES));
      }
      // Every benchmarked task must have exactly its one history row (none lost, none twice).
      const created = WARMUP_TASKS + ROUNDS * TASKS_PER_ROUND;
      const [{ n: rows, ok }] = await platform.sql<{ n: string; ok: string }>(
        org.database,
        `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'SUCCESS') AS ok FROM tasks WHERE type = 'noop'`,
      );
      if (Number(rows) !== created || Number(ok) !== created) {
        throw new Error(`expected ${created} SUCCESS history rows, found ${rows} rows (${ok} SUCCESS)`);
      }
      const value = median(tasks);
      const baseline = median(bare);
      const lineRate = median(lines);
      const bareLineRate = median(bareLineRates);
      return [
        {
          name: 'tasks.e2e',
          value: round(value),
          min: round(Math.min(...tasks)),
          max: round(Math.max(...tasks)),
          rounds: ROUNDS,
          unit: 'tasks/s',
          samples: ROUNDS * TASKS_PER_ROUND,
          concurrency: CONCURRENCY,
          historyRows: Number(rows),
          baseline: {
            name: 'bullmq.noop',
            value: round(baseline),
            min: round(Math.min(...bare)),
            max: round(Math.max(...bare)),
            unit: 'jobs/s',
          },
          ratio: round(value / baseline),
        },
        {
          name: 'tasks.log_lines',
          value: round(lineRate),
          unit: 'lines/s',
          samples: ROUNDS * LOG_LINES,
          baseline: { name: 'child_process.stdout', value: round(bareLineRate), unit: 'lines/s' },
          ratio: round(lineRate / bareLineRate),
        },
      ];
    } finally {
      await platform.stop();
    }
  },
};
