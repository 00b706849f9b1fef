import { fork, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { fromProjectRoot } from '#libs/config';
import type { BenchEnvironment } from '../bench-environment.js';
import { findFreePort } from '#libs/runtime';
import { spawnPlatformProcess, type PlatformProcess } from '#libs/testing';
import { startBenchPlatform } from '../bench-platform.js';
import { median, percentile, round, type Benchmark, type BenchResult } from '../measure.js';

/** Subscriptions per path: supabase-js channels on one side, Socket.IO `table` subscriptions on the other. */
const CHANNELS = 1000;
/** Connections per path, so each carries CHANNELS / CONNECTIONS subscriptions (the same shape on both paths). */
const CONNECTIONS = 100;
/** Load processes per path. */
const CLIENT_PROCESSES = 2;
/** Rows inserted one by one per round, this far apart. */
const ROWS_PER_ROUND = 30;
const ROW_GAP_MS = 20;
const WARMUP_ROWS = 5;
/** Rounds of each path, interleaved A B A B. */
const ROUNDS = 3;
/** Longest any phase may wait before the run is abandoned. */
const PHASE_TIMEOUT_MS = 180_000;
const POLL_MS = 100;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Path = 'supabase' | 'socketio';

interface LoadProcess {
  child: ChildProcess;
  collect(): Promise<number[]>;
}

function startLoad(kind: Path, url: string, token: string, table: string): Promise<LoadProcess> {
  const child = fork(
    fromProjectRoot('dist/bench/benchmarks/supabase-realtime.client.js'),
    [kind, url, token, table, String(CHANNELS / CLIENT_PROCESSES), String(CONNECTIONS / CLIENT_PROCESSES)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  let waiting: ((latencies: number[]) => void) | undefined;
  const load: LoadProcess = {
    child,
    collect: () =>
      new Promise((resolve) => {
        waiting = resolve;
        child.send({ command: 'collect' });
      }),
  };
  return new Promise((resolve, reject) => {
    child.on('message', (message: { ready?: boolean; error?: string; latencies?: number[] }) => {
      if (message.ready) resolve(load);
      else if (message.error) reject(new Error(`${kind} load process: ${message.error}`));
      else if (message.latencies) waiting?.(message.latencies);
    });
    child.once('exit', (code) => reject(new Error(`${kind} load process exited with ${code}`)));
  });
}

/** Inserts `rows` rows one by one and gathers every delivery of them from the path's load processes. */
async function measureRound(writer: pg.Client, table: string, loads: LoadProcess[], rows: number, offset: number): Promise<number[]> {
  for (let i = 0; i < rows; i++) {
    await writer.query(`INSERT INTO public.${table} (n) VALUES ($1)`, [offset + i]);
    await delay(ROW_GAP_MS);
  }
  const latencies: number[] = [];
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (latencies.length < rows * CHANNELS) {
    if (Date.now() > deadline) throw new Error(`supabase-realtime bench: ${latencies.length} of ${rows * CHANNELS} deliveries on ${table}`);
    await delay(POLL_MS);
    for (const load of loads) latencies.push(...(await load.collect()));
  }
  return latencies;
}

/**
 * Row change → client latency with 1,000 subscriptions on one API process: supabase-js
 * channels on /realtime/v1/websocket against Socket.IO `table` subscriptions of the same
 * shape (100 connections, 10 subscriptions each), each path on a table of its own, in
 * interleaved rounds; the platform runs as its own built API and worker processes.
 */
export const supabaseRealtimeBenchmark: Benchmark = {
  name: 'supabase-realtime',
  async run(environment: BenchEnvironment): Promise<BenchResult[]> {
    // Setup goes through an in-process platform that relays nothing; the API measured is a built process of its own.
    const platform = await startBenchPlatform(environment, { REALTIME_RELAY: 'off' });
    const loads: LoadProcess[] = [];
    let api: PlatformProcess | undefined;
    try {
      const org = await platform.createOrg('bench-supabase-rt');
      const tables: Record<Path, string> = { supabase: 'bench_supabase', socketio: 'bench_socketio' };
      for (const table of Object.values(tables)) {
        await platform.sql(org.database, `CREATE TABLE public.${table} (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
        await platform.sql(org.database, `GRANT SELECT ON public.${table} TO authenticated`);
      }
      const port = await findFreePort();
      const env = Object.fromEntries(
        Object.entries(platform.config)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [key, String(value)]),
      );
      api = spawnPlatformProcess('api', {
        ...env,
        PORT: String(port),
        REALTIME_RELAY: 'on',
        REALTIME_RELAY_POLL_MS: '200',
        LOG_LEVEL: 'warn',
      });
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + PHASE_TIMEOUT_MS;
      while (!(await fetch(`${url}/health/live`).catch(() => undefined))?.ok) {
        if (Date.now() > deadline || api.child.exitCode !== null)
          throw new Error(`supabase-realtime bench: the API did not start: ${api.output()}`);
        await delay(POLL_MS);
      }
      for (;;) {
        const [slot] = await platform.sql<{ active: boolean }>(org.database, 'SELECT active FROM pg_replication_slots');
        if (slot?.active) break;
        if (Date.now() > deadline) throw new Error('supabase-realtime bench: the relay did not start');
        await delay(POLL_MS);
      }
      const byPath: Record<Path, LoadProcess[]> = { supabase: [], socketio: [] };
      for (const path of ['supabase', 'socketio'] as Path[]) {
        for (let i = 0; i < CLIENT_PROCESSES; i++) {
          const load = await startLoad(path, url, org.token, tables[path]);
          loads.push(load);
          byPath[path].push(load);
        }
      }
      const writer = new pg.Client({
        connectionString: Object.assign(new URL(environment.postgresUrl), { pathname: `/${org.database}` }).toString(),
      });
      await writer.connect();
      const rounds: Record<Path, { p50: number; p99: number; samples: number }[]> = { supabase: [], socketio: [] };
      try {
        let offset = 0;
        for (const path of ['supabase', 'socketio'] as Path[]) {
          await measureRound(writer, tables[path], byPath[path], WARMUP_ROWS, offset);
          offset += WARMUP_ROWS;
        }
        for (let r = 0; r < ROUNDS; r++) {
          for (const path of ['supabase', 'socketio'] as Path[]) {
            const latencies = await measureRound(writer, tables[path], byPath[path], ROWS_PER_ROUND, offset);
            offset += ROWS_PER_ROUND;
            rounds[path].push({ p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), samples: latencies.length });
          }
        }
      } finally {
        await writer.end();
      }
      const figure = (path: Path, key: 'p50' | 'p99') => {
        const values = rounds[path].map((entry) => entry[key]);
        return { value: round(median(values)), min: Math.min(...values), max: Math.max(...values) };
      };
      return (['p50', 'p99'] as const).map((key) => {
        const ours = figure('supabase', key);
        const base = figure('socketio', key);
        return {
          name: `supabase_realtime.row_to_client.${key}`,
          ...ours,
          rounds: ROUNDS,
          unit: 'ms',
          samples: rounds.supabase.reduce((sum, entry) => sum + entry.samples, 0),
          subscribers: CHANNELS,
          baseline: { name: `socket.io.table_to_client.${key}`, ...base, unit: 'ms' },
          // Receipt is measured in whole milliseconds; a baseline of 0 ms counts as 1 ms for the ratio.
          ratio: round(ours.value / Math.max(1, base.value)),
        };
      });
    } finally {
      for (const load of loads) load.child.kill('SIGTERM');
      if (api) {
        api.child.kill('SIGTERM');
        await api.waitForExit(30_000);
      }
      await platform.stop();
    }
  },
};
