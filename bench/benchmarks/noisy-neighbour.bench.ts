import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fromProjectRoot } from '#libs/config';
import type { BenchEnvironment } from '../bench-environment.js';
import { cpuMs } from '../bench-children.js';
import { startBenchPlatformProcesses } from '../bench-platform.js';
import { httpJson } from '../http-client.js';
import { median, percentile, round, type Benchmark, type BenchResult } from '../measure.js';
import type { LoadCommand, LoadReport, ProbeStages } from './noisy-neighbour.load.js';

const ROUNDS = 3;
/**
 * Tasks org B creates, one after another, per measurement. With 150 the p99 was the second
 * slowest of a round, and one stall (a collection, the flood's first burst) moved it
 * alone; with 400 it is the fourth slowest, over a flood about three times as long.
 */
const PROBES = 400;
const WARMUP_PROBES = 30;
const FLOOD_ENVIRONMENTS = 200;
/** Longest a load generator may take to answer before the run is called off. */
const LOAD_TIMEOUT_MS = 10 * 60_000;
/**
 * The caps the platform runs with here (the other benchmarks raise them out of the way):
 * the defaults, with the request rates an operator of a shared machine would set.
 */
const CAPS = {
  RATE_LIMIT_ORG_PER_SECOND: '200',
  RATE_LIMIT_TOKEN_PER_SECOND: '200',
  REALTIME_SOCKETS_PER_TOKEN: '20',
  REALTIME_SOCKETS_PER_ORG: '200',
  REALTIME_SUBSCRIPTIONS_PER_SOCKET: '100',
  REALTIME_SUBSCRIPTIONS_PER_ORG: '2000',
  REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND: '100',
  REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG: '8',
  ORG_REQUESTS_IN_FLIGHT_MAX: '8',
  ORG_REQUESTS_QUEUE_MAX: '1000',
  ORG_POOL_QUEUE_MAX: '50',
};
/** Settings to run with on top of CAPS, as JSON (`BENCH_NOISY_SETTINGS='{"ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY":"8"}'`), to compare them in runs of the same shape. */
const SETTINGS: Record<string, string> = { ...CAPS, ...(JSON.parse(process.env.BENCH_NOISY_SETTINGS ?? '{}') as Record<string, string>) };

/** A load generator process of this benchmark (noisy-neighbour.load.ts), spoken to over IPC. */
class LoadProcess {
  private readonly child: ChildProcess;
  private readonly reports: LoadReport[] = [];
  private readonly waiters: ((report: LoadReport) => void)[] = [];
  private output = '';

  constructor(mode: 'flood' | 'probe', baseUrl: string, token: string) {
    this.child = fork(fromProjectRoot('dist/bench/benchmarks/noisy-neighbour.load.js'), [mode, baseUrl, token], {
      env: { PATH: process.env.PATH ?? '', BENCH_NOISY_FLOOD: process.env.BENCH_NOISY_FLOOD ?? '' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (report: LoadReport) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(report);
      else this.reports.push(report);
    });
  }

  /** The next report, failing if the generator failed, exited or took longer than LOAD_TIMEOUT_MS. */
  next<Kind extends LoadReport['kind']>(kind: Kind): Promise<Extract<LoadReport, { kind: Kind }>> {
    const queued = this.reports.shift();
    const report = queued
      ? Promise.resolve(queued)
      : new Promise<LoadReport>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`load generator silent for ${LOAD_TIMEOUT_MS} ms`)), LOAD_TIMEOUT_MS);
          const exited = (code: number | null) => reject(new Error(`load generator exited (${code}): ${this.output}`));
          this.child.once('exit', exited);
          this.waiters.push((next) => {
            clearTimeout(timer);
            this.child.off('exit', exited);
            resolve(next);
          });
        });
    return report.then((next) => {
      if (next.kind === 'failed') throw new Error(`load generator failed: ${next.message}`);
      if (next.kind !== kind) throw new Error(`load generator sent ${next.kind}, expected ${kind}`);
      return next as Extract<LoadReport, { kind: Kind }>;
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends `command`; a generator that already went away is left to `next` and `stop` (its exit), not thrown here. */
  command(command: LoadCommand): void {
    this.child.send(command, () => undefined);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    if (this.child.connected) this.command({ kind: 'stop' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

interface Side {
  create: number[];
  delivery: number[];
  refusals: number;
  load: number[];
  /** Per round, the p99 of each of B's stages (ProbeStages). */
  stages: Record<keyof ProbeStages, number[]>;
  /** Per round, the API's event-loop delay while B probed (p99 and max, ms). */
  loopDelayP99: number[];
  loopDelayMax: number[];
  /** Per round, CPU ms each process used while B probed, and how long B probed. */
  cpu: Record<string, number>[];
}

/** The API's event-loop delay since the last scrape (prom-client resets its histogram at each one), in ms. */
async function apiLoopDelay(baseUrl: string): Promise<{ p99: number; max: number }> {
  const { text } = await httpJson(`${baseUrl}/metrics`, 'GET', {});
  const seconds = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { p99: 1000 * seconds('nodejs_eventloop_lag_p99_seconds'), max: 1000 * seconds('nodejs_eventloop_lag_max_seconds') };
}

/**
 * Noisy neighbour: the p99 of org B's task creation and of its event delivery while org A
 * floods the same platform (task creation, list calls, subscriptions), as a ratio to B
 * alone. The platform runs as its own API and worker processes; A's flood and B's probe
 * are load generators of their own; rounds interleave B alone and B under A's flood.
 * The goal is a ratio of at most 2.
 */
export const noisyNeighbourBenchmark: Benchmark = {
  name: 'noisy-neighbour',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatformProcesses(environment, SETTINGS);
    const generators: LoadProcess[] = [];
    try {
      const [a, b] = [await platform.createOrg('noisy-a'), await platform.createOrg('quiet-b')];
      await platform.call('POST', '/v1/pools', { name: 'flood', kind: 'bench' }, a.token);
      for (let index = 0; index < FLOOD_ENVIRONMENTS; index++) {
        const environment = { name: `env-${index}`, attributes: { blob: 'x'.repeat(1_000) } };
        // On a quiet machine these come faster than CAPS's token rate: a refused one waits for the next second.
        while (true) {
          const { status } = await httpJson(
            `${platform.baseUrl}/v1/pools/flood/environments`,
            'POST',
            { authorization: `Bearer ${a.token}` },
            environment,
          );
          if (status === 201) break;
          if (status !== 429) throw new Error(`creating the flood's environment ${index} answered ${status}`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      const prober = new LoadProcess('probe', platform.baseUrl, b.token);
      generators.push(prober);
      await prober.next('ready');
      let flooding: LoadProcess | undefined;
      const processes = () => ({
        api: platform.apiPid,
        worker: platform.workerPid,
        prober: prober.pid,
        ...(flooding ? { flooder: flooding.pid } : {}),
      });
      const cpuOf = async () =>
        Object.fromEntries(await Promise.all(Object.entries(processes()).map(async ([name, pid]) => [name, await cpuMs(pid)] as const)));
      /** B's probe, with the API's event-loop delay and every process's CPU time over it. */
      const probe = async (count: number) => {
        await apiLoopDelay(platform.baseUrl);
        const cpuBefore = await cpuOf();
        const started = performance.now();
        prober.command({ kind: 'probe', count });
        const figures = await prober.next('probed');
        const cpuAfter = await cpuOf();
        const cpu = Object.fromEntries(Object.entries(cpuAfter).map(([name, ms]) => [name, ms - cpuBefore[name]!]));
        cpu.elapsed = Math.round(performance.now() - started);
        return { figures, loop: await apiLoopDelay(platform.baseUrl), cpu };
      };
      await probe(WARMUP_PROBES);
      const side = (): Side => ({
        create: [],
        delivery: [],
        refusals: 0,
        load: [],
        stages: { accepted: [], answered: [], fannedOut: [] },
        loopDelayP99: [],
        loopDelayMax: [],
        cpu: [],
      });
      const alone = side();
      const noisy = side();
      const record = (side: Side, { figures, loop, cpu }: Awaited<ReturnType<typeof probe>>) => {
        side.create.push(percentile(figures.create, 0.99));
        side.delivery.push(percentile(figures.delivery, 0.99));
        side.refusals += figures.refusals.length;
        side.load.push(loadavg()[0]!);
        for (const stage of Object.keys(side.stages) as (keyof ProbeStages)[])
          side.stages[stage].push(percentile(figures.stages[stage], 0.99));
        side.loopDelayP99.push(loop.p99);
        side.loopDelayMax.push(loop.max);
        side.cpu.push(cpu);
      };
      const describe = (side: Side) =>
        `stages p99 ${Object.entries(side.stages)
          .map(([stage, values]) => `${stage} ${round(values.at(-1)!)}`)
          .join(', ')} ms; API loop delay p99 ${round(side.loopDelayP99.at(-1)!)} max ${round(side.loopDelayMax.at(-1)!)} ms;` +
        ` CPU ms ${JSON.stringify(side.cpu.at(-1))}`;
      let floodAnswers: Record<string, number> = {};
      for (let pass = 1; pass <= ROUNDS; pass++) {
        record(alone, await probe(PROBES));
        const flooder = new LoadProcess('flood', platform.baseUrl, a.token);
        generators.push(flooder);
        await flooder.next('ready');
        flooding = flooder;
        const loud = await probe(PROBES);
        record(noisy, loud);
        flooder.command({ kind: 'stop' });
        floodAnswers = (await flooder.next('flooded')).answers;
        await flooder.stop();
        flooding = undefined;
        process.stdout.write(
          `  round ${pass}: B p99 create ${round(alone.create.at(-1)!)} ms alone, ${round(noisy.create.at(-1)!)} ms flooded;` +
            ` delivery ${round(alone.delivery.at(-1)!)} / ${round(noisy.delivery.at(-1)!)} ms; B refused ${loud.figures.refusals.length};` +
            ` load ${loadavg()[0]!.toFixed(2)}\n    alone: ${describe(alone)}\n    flooded: ${describe(noisy)}\n` +
            `  A's answers: ${JSON.stringify(floodAnswers)}\n`,
        );
      }
      const figure = (name: string, flooded: number[], baseline: number[]): BenchResult => ({
        name,
        value: round(median(flooded)),
        min: round(Math.min(...flooded)),
        max: round(Math.max(...flooded)),
        rounds: ROUNDS,
        unit: 'ms',
        samples: ROUNDS * PROBES,
        baseline: {
          name: `${name}.alone`,
          value: round(median(baseline)),
          min: round(Math.min(...baseline)),
          max: round(Math.max(...baseline)),
          unit: 'ms',
        },
        ratio: round(median(flooded) / Math.max(0.001, median(baseline))),
        goal: 'ratio <= 2',
        bRefusedCreates: { alone: alone.refusals, flooded: noisy.refusals },
        loadAverage: { alone: alone.load.map(round), flooded: noisy.load.map(round) },
        stagesP99: { alone: alone.stages, flooded: noisy.stages },
        apiLoopDelayP99: { alone: alone.loopDelayP99.map(round), flooded: noisy.loopDelayP99.map(round) },
        cpuMs: { alone: alone.cpu, flooded: noisy.cpu },
        lastFloodAnswers: floodAnswers,
        caps: SETTINGS,
      });
      return [
        figure('noisy_neighbour.b_task_create.p99', noisy.create, alone.create),
        figure('noisy_neighbour.b_event_delivery.p99', noisy.delivery, alone.delivery),
      ];
    } finally {
      await Promise.all(generators.map((generator) => generator.stop()));
      await platform.stop();
    }
  },
};
