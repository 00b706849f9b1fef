import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { fromProjectRoot } from '#libs/config';
import { dropRedisKeys } from '#libs/testing';
import { cpuMs } from '../bench-children.js';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses, type BenchPlatformProcesses } from '../bench-platform.js';
import { median, round, type Benchmark, type BenchResult } from '../measure.js';
import type { BareBullmqCommand } from './bare-bullmq.process.js';
import type { CreateTasksCommand, CreateTasksReport } from './task-load.generator.js';

/** Task slots of the platform's worker and of the bare worker alike. */
const WORKER_CONCURRENCY = 16;
/** Requests (platform) or adds (bare) the load generator keeps in flight. */
const IN_FLIGHT = 64;
/**
 * Tasks (and bare jobs) run before measuring: one round's worth. With 500, the first
 * measured round still cost the API and the worker about twice the CPU per task of the
 * third (the JIT still at work), so the median of three leaned on a cold round.
 */
const WARMUP_TASKS = 2000;
const TASKS_PER_ROUND = 2000;
const ROUNDS = 3;
/**
 * `tasks.e2e` is measured with tasks spread over this many orgs each round;
 * BENCH_TASKS_ORG_COUNTS (comma-separated, e.g. `1` for a quick profiling run) overrides it.
 */
const ORG_COUNTS = (process.env.BENCH_TASKS_ORG_COUNTS ?? '1,10,100').split(',').map(Number);
/** Orgs provisioned at once while setting up. */
const PROVISION_CONCURRENCY = 10;
const LOG_LINES = 200_000;
const POLL_MS = 20;

interface BenchOrg {
  token: string;
  database: string;
  client: pg.Client;
  /** Noop tasks created for it so far: its history must end with exactly this many SUCCESS rows. */
  expected: number;
}

/** A forked child process answering one IPC message per command. */
class Child {
  private constructor(private readonly child: ChildProcess) {}

  /** Forks `script` (built, under dist/bench/benchmarks) and waits for its first message when `awaitReady`. */
  static async fork(script: string, args: string[], awaitReady: boolean): Promise<Child> {
    const child = fork(fromProjectRoot(`dist/bench/benchmarks/${script}`), args, {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const wrapped = new Child(child);
    if (awaitReady) await wrapped.next();
    return wrapped;
  }

  async ask<Reply>(command: unknown): Promise<Reply> {
    const reply = this.next<Reply>();
    this.child.send(command as object);
    return reply;
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }

  private next<Reply>(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench child exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (message) => {
        this.child.off('exit', onExit);
        resolve(message as Reply);
      });
    });
  }
}

/** One end-to-end round: tasks/s, and the CPU the API and the worker spent per task (µs, from /proc, 10 ms ticks). */
interface EndToEndRound {
  rate: number;
  apiCpuUs: number;
  workerCpuUs: number;
}

/**
 * Tasks created over HTTP by the load generator's process, spread over `orgs`, until every
 * one's history row is in its org database (counted there).
 */
async function endToEnd(generator: Child, platform: BenchPlatformProcesses, orgs: BenchOrg[], count: number): Promise<EndToEndRound> {
  const [apiBefore, workerBefore] = await Promise.all([cpuMs(platform.apiPid), cpuMs(platform.workerPid)]);
  const started = performance.now();
  const report = await generator.ask<CreateTasksReport>({
    baseUrl: platform.baseUrl,
    tokens: orgs.map((org) => org.token),
    count,
    inFlight: IN_FLIGHT,
  } satisfies CreateTasksCommand);
  if (report.failures.length) throw new Error(`task creates refused: ${report.failures.join('; ')}`);
  orgs.forEach((org, index) => (org.expected += report.created[index]!));
  let waiting = orgs;
  while (waiting.length) {
    const counts = await Promise.all(waiting.map((org) => historyRows(org)));
    waiting = waiting.filter((org, index) => counts[index]!.rows < org.expected);
    if (waiting.length) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const rate = count / ((performance.now() - started) / 1000);
  const [apiAfter, workerAfter] = await Promise.all([cpuMs(platform.apiPid), cpuMs(platform.workerPid)]);
  return { rate, apiCpuUs: (1000 * (apiAfter - apiBefore)) / count, workerCpuUs: (1000 * (workerAfter - workerBefore)) / count };
}

async function historyRows(org: BenchOrg): Promise<{ rows: number; succeeded: number }> {
  const { rows } = await org.client.query<{ n: string; ok: string }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'SUCCESS') AS ok FROM tasks WHERE type = 'noop'`,
  );
  return { rows: Number(rows[0]!.n), succeeded: Number(rows[0]!.ok) };
}

/** Bare BullMQ: the producer process adds `count` jobs, the worker process runs them as no-ops; jobs/s until the last completed. */
async function bareBullmq(producer: Child, worker: Child, completedBefore: number, count: number): Promise<number> {
  const started = performance.now();
  const done = worker.ask({ kind: 'await', total: completedBefore + count } satisfies BareBullmqCommand);
  await producer.ask({ kind: 'produce', count, inFlight: IN_FLIGHT } satisfies BareBullmqCommand);
  await done;
  return count / ((performance.now() - started) / 1000);
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

const spread = (values: number[]) => ({ value: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)) });

/**
 * End-to-end tasks/s (created over HTTP, run by the worker, history row in the org
 * database) against bare BullMQ in the same run, interleaved A B A B; and log lines/s
 * through one task against reading the process bare. The platform's API and worker, the
 * load generator, and the bare producer and worker each run in a process of their own.
 */
export const tasksBenchmark: Benchmark = {
  name: 'tasks',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment, {
      TASK_CONCURRENCY: String(WORKER_CONCURRENCY),
      TASK_SHELL_ALLOW: 'seq',
    });
    const children: Child[] = [];
    const orgs: BenchOrg[] = [];
    const prefix = `bench-bare-${randomBytes(4).toString('hex')}`;
    try {
      const generator = await Child.fork('task-load.generator.js', [], false);
      const producer = await Child.fork('bare-bullmq.process.js', ['producer', environment.redisUrl, 'noop', prefix, '0'], true);
      const worker = await Child.fork(
        'bare-bullmq.process.js',
        ['worker', environment.redisUrl, 'noop', prefix, String(WORKER_CONCURRENCY)],
        true,
      );
      children.push(generator, producer, worker);

      const largest = Math.max(...ORG_COUNTS);
      for (let first = 0; first < largest; first += PROVISION_CONCURRENCY) {
        const batch = Array.from({ length: Math.min(PROVISION_CONCURRENCY, largest - first) }, (_, index) => first + index);
        orgs.push(
          ...(await Promise.all(
            batch.map(async (index) => {
              const { token, database } = await platform.createOrg(`bench-tasks-${index}`);
              const client = new pg.Client({
                connectionString: Object.assign(new URL(environment.postgresUrl), { pathname: `/${database}` }).toString(),
              });
              // Ends with the bench server; an error after that is no news.
              client.on('error', () => undefined);
              await client.connect();
              await client.query('SET search_path = platform, public');
              return { token, database, client, expected: 0 };
            }),
          )),
        );
      }
      let bareCompleted = 0;
      const bare = async () => {
        const rate = await bareBullmq(producer, worker, bareCompleted, TASKS_PER_ROUND);
        bareCompleted += TASKS_PER_ROUND;
        return rate;
      };

      await endToEnd(generator, platform, orgs, WARMUP_TASKS);
      await bareBullmq(producer, worker, 0, WARMUP_TASKS);
      bareCompleted = WARMUP_TASKS;

      const rounds = new Map<number, EndToEndRound[]>(ORG_COUNTS.map((count) => [count, []]));
      const bareRates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const count of ORG_COUNTS) {
          rounds.get(count)!.push(await endToEnd(generator, platform, orgs.slice(0, count), TASKS_PER_ROUND));
          bareRates.push(await bare());
        }
      }
      const lines: number[] = [];
      const bareLineRates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        lines.push(await taskLines(platform, orgs[0]!.token, LOG_LINES));
        bareLineRates.push(await bareLines(LOG_LINES));
      }

      // Every benchmarked task must have exactly its one history row, SUCCESS (none lost, none twice).
      let historyRowsChecked = 0;
      for (const org of orgs) {
        const { rows, succeeded } = await historyRows(org);
        if (rows !== org.expected || succeeded !== org.expected) {
          throw new Error(`${org.database}: expected ${org.expected} SUCCESS history rows, found ${rows} rows (${succeeded} SUCCESS)`);
        }
        historyRowsChecked += rows;
      }

      const baseline = { name: 'bullmq.noop', ...spread(bareRates), unit: 'jobs/s' };
      const results: BenchResult[] = ORG_COUNTS.map((count) => {
        const measured = rounds.get(count)!;
        const figure = spread(measured.map(({ rate }) => rate));
        return {
          name: count === 1 ? 'tasks.e2e' : `tasks.e2e.orgs_${count}`,
          ...figure,
          rounds: ROUNDS,
          unit: 'tasks/s',
          samples: ROUNDS * TASKS_PER_ROUND,
          orgs: count,
          inFlight: IN_FLIGHT,
          workerConcurrency: WORKER_CONCURRENCY,
          historyRowsChecked,
          apiCpuUsPerTask: round(median(measured.map(({ apiCpuUs }) => apiCpuUs))),
          workerCpuUsPerTask: round(median(measured.map(({ workerCpuUs }) => workerCpuUs))),
          baseline,
          ratio: round(median(measured.map(({ rate }) => rate)) / median(bareRates)),
        };
      });
      results.push({
        name: 'tasks.log_lines',
        ...spread(lines),
        rounds: ROUNDS,
        unit: 'lines/s',
        samples: ROUNDS * LOG_LINES,
        baseline: { name: 'child_process.stdout', ...spread(bareLineRates), unit: 'lines/s' },
        ratio: round(median(lines) / median(bareLineRates)),
      });
      return results;
    } finally {
      for (const child of children) child.stop();
      await Promise.all(orgs.map((org) => org.client.end()));
      await platform.stop();
      await dropRedisKeys(environment.redisUrl, `${prefix}:*`);
    }
  },
};
