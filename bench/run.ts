import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fromProjectRoot } from '#libs/config';
import { startBenchEnvironment } from './bench-environment.js';
import { documentsBenchmark } from './benchmarks/documents.bench.js';
import { httpApiBenchmark } from './benchmarks/http-api.bench.js';
import { noisyNeighbourBenchmark } from './benchmarks/noisy-neighbour.bench.js';
import { orgProvisioningBenchmark } from './benchmarks/org-provisioning.bench.js';
import { realtimeBenchmark, realtimeCrowdBenchmark } from './benchmarks/realtime.bench.js';
import { redisClusterBenchmark } from './benchmarks/redis-cluster.bench.js';
import { relaysBenchmark } from './benchmarks/relays.bench.js';
import { resourcesBenchmark } from './benchmarks/resources.bench.js';
import { supabaseRealtimeBenchmark } from './benchmarks/supabase-realtime.bench.js';
import { tasksBenchmark } from './benchmarks/tasks.bench.js';
import type { Benchmark, BenchResult } from './measure.js';

const BENCHMARKS: Benchmark[] = [
  httpApiBenchmark,
  orgProvisioningBenchmark,
  tasksBenchmark,
  resourcesBenchmark,
  realtimeBenchmark,
  realtimeCrowdBenchmark,
  documentsBenchmark,
  noisyNeighbourBenchmark,
  relaysBenchmark,
  supabaseRealtimeBenchmark,
  redisClusterBenchmark,
];

// `npm run bench` runs them all; `npm run bench -- <name> ...` runs the named ones.
const wanted = process.argv.slice(2);
const selected = wanted.length ? BENCHMARKS.filter((benchmark) => wanted.includes(benchmark.name)) : BENCHMARKS;
if (selected.length === 0) {
  process.stderr.write(`unknown benchmark; choose from: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}

/** How the benchmarks place the processes they measure (see /work/shared/BENCH.md). */
const TOPOLOGY = {
  platform: 'api x1, worker x1 (child processes, built: dist/apps/*/src/main.js)',
  load: '1 load-generator process per benchmark (node:http keep-alive, ioredis); 1,000 sockets over 4 client processes, 5,000 over 20',
  baselines:
    'bare node:http, bare Lua, bare XADD → XREAD BLOCK → Socket.IO and bare pgoutput reader, each in a process of its own, same clients',
  stores:
    process.env.DATABASE_URL || process.env.REDIS_URL ? 'postgres and redis as given' : 'postgres (embedded), redis (standalone process)',
};
const loadAtStart = loadavg().map((value) => Number(value.toFixed(2)));

const environment = await startBenchEnvironment();
const results: BenchResult[] = [];
try {
  for (const benchmark of selected) {
    process.stdout.write(`running ${benchmark.name} ...\n`);
    results.push(...(await benchmark.run(environment)));
  }
} finally {
  await environment.stop();
}

const range = (figure: { min?: number; max?: number }) => (figure.min === undefined ? '' : `${figure.min}–${figure.max}`);
console.table(
  results.map(({ name, value, unit, samples, baseline, ratio, ...figure }) => ({
    name,
    value: `${value} ${unit}`,
    'min–max': range(figure),
    rounds: figure.rounds ?? '',
    samples,
    baseline: baseline ? `${baseline.name}: ${baseline.value} ${baseline.unit}` : '',
    'baseline min–max': baseline ? range(baseline) : '',
    ratio: ratio ?? '',
  })),
);
const [load1, load5, load15] = loadavg().map((value) => Number(value.toFixed(2)));
process.stdout.write(`load average at the end: ${load1} ${load5} ${load15}\n`);
const report = {
  machine: { cpus: cpus().length, node: process.version, loadAverage: { start: loadAtStart, end: [load1, load5, load15] } },
  at: new Date().toISOString(),
  topology: TOPOLOGY,
  results,
};
const folder = fromProjectRoot('bench/results');
await mkdir(folder, { recursive: true });
await writeFile(join(folder, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`written to ${join(folder, 'latest.json')}\n`);
process.exit(0);
