import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fromProjectRoot } from '#libs/config';
import { startBenchEnvironment } from './bench-environment.js';
import { documentsBenchmark } from './benchmarks/documents.bench.js';
import { httpApiBenchmark } from './benchmarks/http-api.bench.js';
import { noisyNeighbourBenchmark } from './benchmarks/noisy-neighbour.bench.js';
import { orgProvisioningBenchmark } from './benchmarks/org-provisioning.bench.js';
import { realtimeBenchmark } from './benchmarks/realtime.bench.js';
import { redisClusterBenchmark } from './benchmarks/redis-cluster.bench.js';
import { relaysBenchmark } from './benchmarks/relays.bench.js';
import { resourcesBenchmark } from './benchmarks/resources.bench.js';
import { tasksBenchmark } from './benchmarks/tasks.bench.js';
import type { Benchmark, BenchResult } from './measure.js';

const BENCHMARKS: Benchmark[] = [
  httpApiBenchmark,
  orgProvisioningBenchmark,
  tasksBenchmark,
  resourcesBenchmark,
  realtimeBenchmark,
  documentsBenchmark,
  noisyNeighbourBenchmark,
  relaysBenchmark,
  redisClusterBenchmark,
];

// `npm run bench` runs them all; `npm run bench -- <name> ...` runs the named ones.
const wanted = process.argv.slice(2);
const selected = wanted.length ? BENCHMARKS.filter((benchmark) => wanted.includes(benchmark.name)) : BENCHMARKS;
if (selected.length === 0) {
  process.stderr.write(`unknown benchmark; choose from: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}

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

console.table(
  results.map(({ name, value, unit, samples, baseline, ratio }) => ({
    name,
    value: `${value} ${unit}`,
    samples,
    baseline: baseline ? `${baseline.name}: ${baseline.value} ${baseline.unit}` : '',
    ratio: ratio ?? '',
  })),
);
const report = { machine: { cpus: cpus().length, node: process.version }, at: new Date().toISOString(), results };
const folder = fromProjectRoot('bench/results');
await mkdir(folder, { recursive: true });
await writeFile(join(folder, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`written to ${join(folder, 'latest.json')}\n`);
process.exit(0);
