import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { fromProjectRoot } from '#libs/config';
import { findFreePort } from '#libs/runtime';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform } from '../bench-platform.js';
import { percentile, round, throughput, type Benchmark, type BenchResult } from '../measure.js';

/** Subscribed sockets, all on one server process. */
const SOCKETS = 1000;
/** Sockets connecting at once while the crowd is built. */
const CONNECT_BATCH = 100;
/** Tasks created one by one for the latency figure (each makes several transitions). */
const LATENCY_TASKS = 25;
const LATENCY_TASK_GAP_MS = 40;
/** Rows inserted one by one for the WAL latency figure. */
const WAL_ROWS = 50;
const WAL_ROW_GAP_MS = 20;
/** The org's own table the rows go to. */
const WAL_TABLE = 'bench_rows';
/** Tasks created at once for the fan-out figure. */
const FANOUT_TASKS = 100;
const FANOUT_CONCURRENCY = 16;
/** Events the bare server broadcasts spaced (latency) and back to back (fan-out). */
const BARE_LATENCY_EVENTS = 100;
const BARE_FANOUT_EVENTS = 400;
/** Pause before reading a server's memory, so allocation from connecting settles. */
const SETTLE_MS = 2000;
/** Longest any phase may wait for its deliveries before the run is abandoned. */
const PHASE_TIMEOUT_MS = 120_000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the benchmark reads of a received event. */
interface ReceivedEvent {
  type: string;
  at: string;
  data: { status?: string; commitTimestamp?: string };
}

interface Crowd {
  sockets: Socket[];
  /** Receipt time minus the time in the event (`at`, or `commitTimestamp` for rows), per delivery. */
  onEvent(handler: (event: ReceivedEvent, receivedAt: number) => void): void;
  close(): void;
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function connectCrowd(url: string, token: string, subscribe: unknown[]): Promise<Crowd> {
  const sockets: Socket[] = [];
  const handlers: ((event: ReceivedEvent, receivedAt: number) => void)[] = [];
  for (let start = 0; start < SOCKETS; start += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, SOCKETS - start) }, async () => {
        const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
        socket.on('event', (event) => {
          const receivedAt = Date.now();
          for (const handler of handlers) handler(event, receivedAt);
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        for (const payload of subscribe) {
          const answer = await socket.timeout(30_000).emitWithAck('subscribe', payload);
          if (!answer.ok) throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
        }
        return socket;
      }),
    );
    sockets.push(...batch);
  }
  return { sockets, onEvent: (handler) => handlers.push(handler), close: () => sockets.forEach((socket) => socket.close()) };
}

function waitUntil(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (done()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`realtime bench: timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

/** Starts a node process; resolves once its output matches `ready`, or at once without one. */
function startProcess(args: string[], env: Record<string, string>, ready: RegExp | undefined): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${output.slice(-2000)}`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, delay(15_000).then(() => child.kill('SIGKILL'))]);
}

interface Figures {
  latencies: number[];
  walLatencies?: number[];
  deliveriesPerSecond: number;
  bytesPerSocket: number;
}

/** A plain Socket.IO server broadcasting to the same number of sockets, in its own process. */
async function measureBare(): Promise<Figures> {
  const port = await findFreePort();
  const server = await startProcess([fromProjectRoot('dist/bench/benchmarks/bare-socketio.server.js'), String(port)], {}, /listening/);
  try {
    const before = await rssKiB(server.pid!);
    const crowd = await connectCrowd(`http://127.0.0.1:${port}`, 'none', [{ topic: 'bench' }]);
    await delay(SETTLE_MS);
    const bytesPerSocket = (((await rssKiB(server.pid!)) - before) * 1024) / SOCKETS;
    const latencies: number[] = [];
    let received = 0;
    let first = 0;
    let last = 0;
    crowd.onEvent((event, receivedAt) => {
      received++;
      first ||= receivedAt;
      last = receivedAt;
      latencies.push(receivedAt - Date.parse(event.at));
    });
    const control = crowd.sockets[0]!;
    await control.timeout(PHASE_TIMEOUT_MS).emitWithAck('burst', { count: BARE_LATENCY_EVENTS, intervalMs: LATENCY_TASK_GAP_MS / 4 });
    await waitUntil('bare latency events', () => received >= BARE_LATENCY_EVENTS * SOCKETS);
    const spaced = latencies.splice(0);
    received = 0;
    first = 0;
    await control.timeout(PHASE_TIMEOUT_MS).emitWithAck('burst', { count: BARE_FANOUT_EVENTS, intervalMs: 0 });
    await waitUntil('bare fan-out events', () => received >= BARE_FANOUT_EVENTS * SOCKETS);
    const deliveriesPerSecond = received / Math.max(1, (last - first) / 1000);
    crowd.close();
    return { latencies: spaced, deliveriesPerSecond, bytesPerSocket };
  } finally {
    await stopProcess(server);
  }
}

/** The platform: an API process of its own serving 1,000 subscribed sockets; tasks and rows made through an in-process platform. */
async function measurePlatform(environment: BenchEnvironment): Promise<Figures> {
  const platform = await startBenchPlatform(environment, { REALTIME_RELAY: 'off', TASK_CONCURRENCY: String(FANOUT_CONCURRENCY) });
  let api: ChildProcess | undefined;
  try {
    const org = await platform.createOrg('bench-realtime');
    // A table of the org's own (platform tables are never relayed): publishing it starts the org's relay.
    await platform.sql(org.database, `CREATE TABLE public.${WAL_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)`);
    await platform.sql(org.database, `GRANT SELECT ON public.${WAL_TABLE} TO authenticated`);
    const port = await findFreePort();
    const env = Object.fromEntries(
      Object.entries(platform.config)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    );
    api = await startProcess(
      [fromProjectRoot('dist/apps/api/src/main.js')],
      { ...env, PORT: String(port), REALTIME_RELAY: 'on', REALTIME_RELAY_POLL_MS: '200', LOG_LEVEL: 'warn' },
      undefined,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitUntilAsync(async () => (await fetch(`${url}/health/live`).catch(() => undefined))?.ok === true);
    await waitUntilAsync(async () => {
      const [slot] = await platform.sql<{ active: boolean }>(
        org.database,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active === true;
    });

    const before = await rssKiB(api.pid!);
    const crowd = await connectCrowd(`${url}/realtime`, org.token, [{ topic: 'tasks' }]);
    await delay(SETTLE_MS);
    const bytesPerSocket = (((await rssKiB(api.pid!)) - before) * 1024) / SOCKETS;
    for (const socket of crowd.sockets) {
      const answer = await socket.timeout(30_000).emitWithAck('subscribe', { topic: 'table', id: WAL_TABLE });
      if (!answer.ok) throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
    }

    const latencies: number[] = [];
    const walLatencies: number[] = [];
    let received = 0;
    let successes = 0;
    let first = 0;
    let last = 0;
    crowd.onEvent((event, receivedAt) => {
      received++;
      first ||= receivedAt;
      last = receivedAt;
      if (event.type === 'task.updated') {
        latencies.push(receivedAt - Date.parse(event.at));
        if (event.data.status === 'SUCCESS') successes++;
      } else if (event.type === 'row.inserted') {
        walLatencies.push(receivedAt - Date.parse(event.data.commitTimestamp!));
      }
    });

    for (let i = 0; i < LATENCY_TASKS; i++) {
      await platform.call('POST', '/v1/tasks', { type: 'noop' }, org.token);
      await delay(LATENCY_TASK_GAP_MS);
    }
    await waitUntil('task latency events', () => successes >= LATENCY_TASKS * SOCKETS);

    const writer = new pg.Client({
      connectionString: Object.assign(new URL(environment.postgresUrl), { pathname: `/${org.database}` }).toString(),
    });
    await writer.connect();
    try {
      for (let i = 0; i < WAL_ROWS; i++) {
        await writer.query(`INSERT INTO ${WAL_TABLE} (key, value) VALUES ($1, '1')`, [`bench-${i}`]);
        await delay(WAL_ROW_GAP_MS);
      }
    } finally {
      await writer.end();
    }
    await waitUntil('row events', () => walLatencies.length >= WAL_ROWS * SOCKETS);

    const spaced = latencies.splice(0);
    received = 0;
    successes = 0;
    first = 0;
    await throughput(FANOUT_TASKS, FANOUT_CONCURRENCY, () => platform.call('POST', '/v1/tasks', { type: 'noop' }, org.token));
    await waitUntil('fan-out events', () => successes >= FANOUT_TASKS * SOCKETS);
    const deliveriesPerSecond = received / Math.max(1, (last - first) / 1000);
    crowd.close();
    return { latencies: spaced, walLatencies, deliveriesPerSecond, bytesPerSocket };
  } finally {
    if (api) await stopProcess(api);
    await platform.stop();
  }
}

async function waitUntilAsync(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('realtime bench: timed out waiting for the API process');
    await delay(50);
  }
}

/**
 * Realtime delivery with 1,000 subscribed sockets on one API process: task transition →
 * client and WAL commit → client latency, fan-out deliveries per second, memory per idle
 * subscribed socket; each beside a plain Socket.IO server broadcasting to as many sockets.
 */
export const realtimeBenchmark: Benchmark = {
  name: 'realtime',
  async run(environment: BenchEnvironment): Promise<BenchResult[]> {
    const bare = await measureBare();
    const ours = await measurePlatform(environment);
    const bareP50 = percentile(bare.latencies, 0.5);
    const bareP99 = percentile(bare.latencies, 0.99);
    const baseline = (name: string, value: number, unit: string) => ({ name, value: round(value), unit });
    const ratio = (value: number, base: number) => round(value / Math.max(base, 1e-9));
    const p50 = percentile(ours.latencies, 0.5);
    const p99 = percentile(ours.latencies, 0.99);
    const walP50 = percentile(ours.walLatencies!, 0.5);
    const walP99 = percentile(ours.walLatencies!, 0.99);
    // Receipt is measured in whole milliseconds; a baseline of 0 ms counts as 1 ms for the ratio.
    return [
      {
        name: 'realtime.task_to_client.p50',
        value: p50,
        unit: 'ms',
        samples: ours.latencies.length,
        sockets: SOCKETS,
        baseline: baseline('socket.io.broadcast.p50', bareP50, 'ms'),
        ratio: ratio(p50, Math.max(1, bareP50)),
      },
      {
        name: 'realtime.task_to_client.p99',
        value: p99,
        unit: 'ms',
        samples: ours.latencies.length,
        sockets: SOCKETS,
        baseline: baseline('socket.io.broadcast.p99', bareP99, 'ms'),
        ratio: ratio(p99, Math.max(1, bareP99)),
      },
      {
        name: 'realtime.wal_to_client.p50',
        value: walP50,
        unit: 'ms',
        samples: ours.walLatencies!.length,
        sockets: SOCKETS,
        baseline: baseline('socket.io.broadcast.p50', bareP50, 'ms'),
        ratio: ratio(walP50, Math.max(1, bareP50)),
      },
      {
        name: 'realtime.wal_to_client.p99',
        value: walP99,
        unit: 'ms',
        samples: ours.walLatencies!.length,
        sockets: SOCKETS,
        baseline: baseline('socket.io.broadcast.p99', bareP99, 'ms'),
        ratio: ratio(walP99, Math.max(1, bareP99)),
      },
      {
        name: 'realtime.fanout',
        value: round(ours.deliveriesPerSecond),
        unit: 'deliveries/s',
        samples: SOCKETS,
        baseline: baseline('socket.io.broadcast', bare.deliveriesPerSecond, 'deliveries/s'),
        ratio: ratio(ours.deliveriesPerSecond, bare.deliveriesPerSecond),
      },
      {
        name: 'realtime.memory_per_socket',
        value: round(ours.bytesPerSocket / 1024),
        unit: 'KiB',
        samples: SOCKETS,
        baseline: baseline('socket.io.idle_socket', bare.bytesPerSocket / 1024, 'KiB'),
        ratio: ratio(ours.bytesPerSocket, bare.bytesPerSocket),
      },
    ];
  },
};
