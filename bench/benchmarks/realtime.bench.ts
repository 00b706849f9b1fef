import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { findFreePort } from '#libs/runtime';
import { forkBenchChild, rssKiB, type BenchChild } from '../bench-children.js';
import { Crowd } from '../socket-crowd.js';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatformProcesses, type BenchPlatformProcesses } from '../bench-platform.js';
import { compared, percentile, round, spread, type Benchmark, type BenchResult } from '../measure.js';

const ROUNDS = 3;
/**
 * Tasks created one by one, this far apart, for the latency figure (each makes several
 * transitions): 20 for 1,000 sockets, fewer for larger crowds so a run stays within minutes.
 */
const latencyTasks = (sockets: number) => Math.max(5, Math.round(20_000 / sockets));
const LATENCY_GAP_MS = 50;
/** Tasks created at once, at this concurrency, for the fan-out figure. */
const FANOUT_TASKS = 40;
const FANOUT_CONCURRENCY = 16;
/** Rows inserted one by one, this far apart, for the WAL figure. */
const WAL_ROWS = 30;
const WAL_GAP_MS = 30;
const WAL_TABLE = 'bench_rows';
/** Log lines one shell task prints per round, this far apart, after a pause that lets the sockets subscribe. */
const LOG_LINES = 20;
const LOG_GAP_S = 0.15;
const LOG_SOCKETS = 100;
/** Pause before reading a server's memory, so allocation from connecting settles. */
const SETTLE_MS = 2000;
/** Longest a phase may wait for its deliveries before the run is abandoned. */
const PHASE_TIMEOUT_MS = 120_000;
const POLL_MS = 20;

/** Says how long a phase took, so a slow run shows where its time went. */
async function phase<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  process.stdout.write(`  ${what}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one round of one side measured. */
interface Round {
  latencies: number[];
  events: number;
  durationMs: number;
  deliveriesPerSecond?: number;
}

/** The platform side: the built API and worker, tasks created over HTTP from a load-generator process. */
interface PlatformSide {
  platform: BenchPlatformProcesses;
  org: { token: string; database: string };
  crowd: Crowd;
  load: BenchChild;
  bytesPerSocket: number;
}

/** The bare side: XADD from a load-generator process, one reader process emitting to rooms, the same crowd shape. */
interface BareSide {
  server: BenchChild;
  crowd: Crowd;
  load: BenchChild;
  redisUrl: string;
  key: string;
  bytesPerSocket: number;
}

async function bytesPerSocketWhile(pid: number, sockets: number, connect: () => Promise<void>): Promise<number> {
  const before = await rssKiB(pid);
  await connect();
  await delay(SETTLE_MS);
  return (((await rssKiB(pid)) - before) * 1024) / sockets;
}

async function startPlatformSide(environment: BenchEnvironment, sockets: number): Promise<PlatformSide> {
  const platform = await startBenchPlatformProcesses(environment, {
    TASK_CONCURRENCY: String(FANOUT_CONCURRENCY),
    TASK_SHELL_ALLOW: 'sh',
    REALTIME_RELAY_POLL_MS: '200',
  });
  const load = await forkBenchChild('load-generator.process.js');
  let crowd: Crowd | undefined;
  try {
    const org = await platform.createOrg(`bench-realtime-${sockets}`);
    const bytesPerSocket = await bytesPerSocketWhile(platform.apiPid, sockets, async () => {
      crowd = await Crowd.connect(`${platform.baseUrl}/realtime`, org.token, sockets, [{ topic: 'tasks' }]);
    });
    return { platform, org, crowd: crowd!, load, bytesPerSocket };
  } catch (error) {
    await crowd?.close();
    await load.stop();
    await platform.stop();
    throw error;
  }
}

async function startBareSide(environment: BenchEnvironment, sockets: number): Promise<BareSide> {
  const port = await findFreePort();
  const key = `bench-bare-realtime-${randomBytes(4).toString('hex')}`;
  const server = await forkBenchChild('bare-realtime.process.js', [String(port), environment.redisUrl, key]);
  const load = await forkBenchChild('load-generator.process.js');
  let crowd: Crowd | undefined;
  try {
    const bytesPerSocket = await bytesPerSocketWhile(server.pid, sockets, async () => {
      crowd = await Crowd.connect(`http://127.0.0.1:${port}/realtime`, 'none', sockets, [{ topic: 'bench' }]);
    });
    return { server, crowd: crowd!, load, redisUrl: environment.redisUrl, key, bytesPerSocket };
  } catch (error) {
    await crowd?.close();
    await load.stop();
    await server.stop();
    throw error;
  }
}

/** `count` noop tasks over HTTP (`concurrency` at once, `gapMs` apart), until every socket saw each one SUCCEED. */
async function platformRound(side: PlatformSide, count: number, concurrency: number, gapMs: number): Promise<Round> {
  await side.crowd.reset();
  const started = Date.now();
  await side.load.request({
    kind: 'http',
    url: `${side.platform.baseUrl}/v1/tasks`,
    method: 'POST',
    headers: { authorization: `Bearer ${side.org.token}` },
    body: { type: 'noop' },
    count,
    concurrency,
    gapMs,
    expect: [201],
  });
  await side.crowd.waitFor('task events', (counts) => counts.successes >= count * side.crowd.sockets);
  const collected = await side.crowd.collect();
  return {
    latencies: collected.latencies.event,
    events: collected.received / side.crowd.sockets,
    durationMs: Math.max(1, collected.last - started),
    deliveriesPerSecond: collected.received / Math.max(0.001, (collected.last - collected.first) / 1000),
  };
}

/** The same number of events as the platform round made, at the same rate, through the bare pipeline. */
async function bareRound(side: BareSide, like: Round, ticks: number): Promise<Round> {
  await side.crowd.reset();
  const perTick = Math.max(1, Math.round(like.events / ticks));
  const gapMs = Math.max(0, like.durationMs / ticks - 1);
  const started = Date.now();
  await side.load.request({ kind: 'xadd', redisUrl: side.redisUrl, key: side.key, ticks, perTick, gapMs });
  await side.crowd.waitFor('bare events', (counts) => counts.event >= ticks * perTick * side.crowd.sockets);
  const collected = await side.crowd.collect();
  return {
    latencies: collected.latencies.event,
    events: collected.received / side.crowd.sockets,
    durationMs: Math.max(1, collected.last - started),
    deliveriesPerSecond: collected.received / Math.max(0.001, (collected.last - collected.first) / 1000),
  };
}

/** Interleaved latency and fan-out rounds, platform then bare, and the figures they give. */
async function transitionFigures(platform: PlatformSide, bare: BareSide, fanout: boolean): Promise<BenchResult[]> {
  const sockets = platform.crowd.sockets;
  // Warm-up: both pipelines carry a few events before anything is timed.
  const warm = await platformRound(platform, 5, 1, LATENCY_GAP_MS);
  await bareRound(bare, warm, 5);
  const ours: Round[] = [];
  const base: Round[] = [];
  const oursFanout: Round[] = [];
  const baseFanout: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const round = await platformRound(platform, latencyTasks(sockets), 1, LATENCY_GAP_MS);
    ours.push(round);
    base.push(await bareRound(bare, round, latencyTasks(sockets)));
    if (fanout) {
      const burst = await platformRound(platform, FANOUT_TASKS, FANOUT_CONCURRENCY, 0);
      oursFanout.push(burst);
      baseFanout.push(await bareRound(bare, burst, FANOUT_TASKS));
    }
  }
  const context = (rounds: Round[]) => ({
    samples: rounds.reduce((sum, r) => sum + r.latencies.length, 0),
    sockets,
    eventsPerRound: round(rounds[0]!.events),
  });
  const p = (rounds: Round[], fraction: number) => rounds.map((r) => percentile(r.latencies, fraction));
  const suffix = sockets === 1000 ? '' : `.${sockets}_sockets`;
  // Receipt is timed in whole milliseconds; a bare figure of 0 ms counts as 1 ms for the ratio.
  const results = [
    compared(`realtime.task_to_client${suffix}.p50`, 'ms', p(ours, 0.5), 'xadd_xread_emit.p50', p(base, 0.5), context(ours), 1),
    compared(`realtime.task_to_client${suffix}.p99`, 'ms', p(ours, 0.99), 'xadd_xread_emit.p99', p(base, 0.99), context(ours), 1),
  ];
  if (fanout) {
    results.push(
      compared(
        `realtime.fanout${suffix}`,
        'deliveries/s',
        oursFanout.map((r) => r.deliveriesPerSecond!),
        'xadd_xread_emit',
        baseFanout.map((r) => r.deliveriesPerSecond!),
        { ...context(oursFanout), concurrency: FANOUT_CONCURRENCY },
      ),
      compared(
        `realtime.fanout${suffix}.p99`,
        'ms',
        p(oursFanout, 0.99),
        'xadd_xread_emit.p99',
        p(baseFanout, 0.99),
        context(oursFanout),
        1,
      ),
    );
  }
  results.push({
    name: `realtime.memory_per_socket${suffix}`,
    value: round(platform.bytesPerSocket / 1024),
    min: round(platform.bytesPerSocket / 1024),
    max: round(platform.bytesPerSocket / 1024),
    rounds: 1,
    unit: 'KiB',
    samples: 1,
    sockets,
    baseline: { name: 'socket.io.room_per_socket', value: round(bare.bytesPerSocket / 1024), unit: 'KiB' },
    ratio: round(platform.bytesPerSocket / Math.max(1, bare.bytesPerSocket)),
  });
  return results;
}

/**
 * WAL commit → client through the platform's relay (rows inserted in an org table every
 * socket subscribes to), against a bare pgoutput reader of a slot of its own on a twin
 * table (commit → decoded), A B A B.
 */
async function walFigures(environment: BenchEnvironment, side: PlatformSide): Promise<BenchResult[]> {
  const { platform, org, crowd } = side;
  const orgUrl = Object.assign(new URL(environment.postgresUrl), { pathname: `/${org.database}` }).toString();
  await platform.sql(org.database, `CREATE TABLE public.${WAL_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)`);
  await platform.sql(org.database, `GRANT SELECT ON public.${WAL_TABLE} TO authenticated`);
  await platform.sql(org.database, `CREATE TABLE public.bench_bare_rows (key text PRIMARY KEY, value jsonb NOT NULL)`);
  await platform.sql(org.database, `CREATE PUBLICATION bench_bare FOR TABLE public.bench_bare_rows`);
  await platform.sql(org.database, `SELECT pg_create_logical_replication_slot('bench_bare', 'pgoutput')`);
  for (;;) {
    const [slot] = await platform.sql<{ active: boolean }>(
      org.database,
      `SELECT active FROM pg_replication_slots WHERE database = current_database() AND slot_name <> 'bench_bare'`,
    );
    if (slot?.active) break;
    await delay(50);
  }
  await crowd.subscribe({ topic: 'table', id: WAL_TABLE });
  const reader = await forkBenchChild('bare-pgoutput.process.js');
  const writer = new pg.Client({ connectionString: orgUrl });
  await writer.connect();
  let sequence = 0;
  const insert = async (table: string) => {
    for (let i = 0; i < WAL_ROWS; i++) {
      await writer.query(`INSERT INTO ${table} (key, value) VALUES ($1, '1')`, [`row-${sequence++}`]);
      await delay(WAL_GAP_MS);
    }
  };
  try {
    await reader.request({ kind: 'start', url: orgUrl, slot: 'bench_bare', publication: 'bench_bare' });
    const ours: number[][] = [];
    const bare: number[][] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await crowd.reset();
      await insert(WAL_TABLE);
      await crowd.waitFor('row events', (counts) => counts.wal >= WAL_ROWS * crowd.sockets);
      ours.push((await crowd.collect()).latencies.wal);
      await insert('bench_bare_rows');
      const deadline = Date.now() + PHASE_TIMEOUT_MS;
      const got: number[] = [];
      while (got.length < WAL_ROWS && Date.now() < deadline) {
        got.push(...(await reader.request<number[]>({ kind: 'collect' })));
        await delay(POLL_MS);
      }
      bare.push(got);
    }
    const context = { samples: ours.reduce((sum, r) => sum + r.length, 0), sockets: crowd.sockets, bareSamples: ROUNDS * WAL_ROWS };
    return [
      compared(
        'realtime.wal_to_client.p50',
        'ms',
        ours.map((r) => percentile(r, 0.5)),
        'pgoutput.read.p50',
        bare.map((r) => percentile(r, 0.5)),
        context,
        1,
      ),
      compared(
        'realtime.wal_to_client.p99',
        'ms',
        ours.map((r) => percentile(r, 0.99)),
        'pgoutput.read.p99',
        bare.map((r) => percentile(r, 0.99)),
        context,
        1,
      ),
    ];
  } finally {
    await writer.end();
    await reader.request({ kind: 'stop' }).catch(() => undefined);
    await reader.stop();
    await platform.sql(org.database, `SELECT pg_drop_replication_slot('bench_bare')`).catch(() => undefined);
  }
}

/**
 * A log line printed by a `shell` task → client receipt: each round one task prints
 * `L<epoch ms>` lines, `LOG_GAP_S` apart, to sockets subscribed to that task (a line that
 * reaches a socket in its subscription's snapshot rather than live is not timed).
 */
async function logFigures(side: PlatformSide): Promise<BenchResult[]> {
  const { platform, org } = side;
  const crowd = await Crowd.connect(`${platform.baseUrl}/realtime`, org.token, LOG_SOCKETS, []);
  try {
    const script = `sleep 2; i=0; while [ $i -lt ${LOG_LINES} ]; do echo L$(date +%s%3N); sleep ${LOG_GAP_S}; i=$((i+1)); done`;
    const rounds: number[][] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await crowd.reset();
      const task = await platform.call('POST', '/v1/tasks', { type: 'shell', params: { command: 'sh', args: ['-c', script] } }, org.token);
      await crowd.subscribe({ topic: 'task', id: task.id });
      // The task's SUCCESS follows its last chunk on the same topic, so once every socket has it, every line has come.
      await crowd.waitFor('the shell task to end', (counts) => counts.successes >= LOG_SOCKETS);
      rounds.push((await crowd.collect()).latencies.log);
    }
    const samples = rounds.reduce((sum, r) => sum + r.length, 0);
    const context = { unit: 'ms', samples, sockets: LOG_SOCKETS, linesPerRound: LOG_LINES };
    return [
      { name: 'realtime.log_to_client.p50', ...spread(rounds.map((r) => percentile(r, 0.5))), ...context },
      { name: 'realtime.log_to_client.p99', ...spread(rounds.map((r) => percentile(r, 0.99))), ...context },
    ];
  } finally {
    await crowd.close();
  }
}

async function stopSides(platform: PlatformSide | undefined, bare: BareSide | undefined): Promise<void> {
  if (bare) {
    await bare.crowd.close();
    await bare.load.stop();
    await bare.server.stop();
    const redis = new Redis(bare.redisUrl);
    await redis.del(bare.key);
    redis.disconnect();
  }
  if (platform) {
    await platform.crowd.close();
    await platform.load.stop();
    await platform.platform.stop();
  }
}

function realtimeBenchmarkWith(name: string, sockets: number, full: boolean): Benchmark {
  return {
    name,
    async run(environment: BenchEnvironment): Promise<BenchResult[]> {
      let platform: PlatformSide | undefined;
      let bare: BareSide | undefined;
      try {
        platform = await phase(`platform and ${sockets} sockets`, () => startPlatformSide(environment, sockets));
        bare = await phase(`bare pipeline and ${sockets} sockets`, () => startBareSide(environment, sockets));
        const results = await phase('transitions', () => transitionFigures(platform!, bare!, full));
        if (full) {
          results.push(...(await phase('log lines', () => logFigures(platform!))));
          results.push(...(await phase('WAL', () => walFigures(environment, platform!))));
        }
        return results;
      } finally {
        await stopSides(platform, bare);
      }
    },
  };
}

/**
 * Realtime delivery to 1,000 subscribed sockets spread over client processes, from the
 * built API and worker: task transition → client latency and fan-out against a bare
 * XADD → XREAD BLOCK → Socket.IO emit pipeline of the same shape at the same event rate,
 * memory per subscribed socket against a bare server keeping one room per socket, WAL
 * commit → client against a bare pgoutput read, and log line → client.
 */
export const realtimeBenchmark = realtimeBenchmarkWith('realtime', 1000, true);

/** Task transition → client latency with 5,000 sockets over client processes, against the bare pipeline. */
export const realtimeCrowdBenchmark = realtimeBenchmarkWith('realtime-5k', 5000, false);
