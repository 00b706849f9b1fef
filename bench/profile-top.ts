import { readFile } from 'node:fs/promises';

/**
 * Prints the functions of a `.cpuprofile` (from `node --cpu-prof`) with the most self time:
 * `node dist/bench/profile-top.js <file> [count] [--inclusive]`. With `--inclusive`, each
 * function's time includes what it called (a function counted once per sample however deep
 * it recurses), which shows which of our own steps a request's time goes to.
 */
interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const inclusive = args.includes('--inclusive');
const [file, count = '30'] = args.filter((arg) => arg !== '--inclusive');
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-top.js <file.cpuprofile> [count] [--inclusive]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
/** Each node's printed name, worked out once rather than per sample and per caller. */
const keyOf = new Map(
  profile.nodes.map(({ id, callFrame: { functionName, url, lineNumber } }) => {
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}` : '';
    return [id, `${functionName || '(anonymous)'} ${where}`];
  }),
);
const micros = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  total += delta;
  const keys = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = inclusive ? parentOf.get(at) : undefined) keys.add(keyOf.get(at)!);
  for (const key of keys) micros.set(key, (micros.get(key) ?? 0) + delta);
});
const top = [...micros].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
for (const [key, spent] of top) {
  process.stdout.write(`${((100 * spent) / total).toFixed(1).padStart(5)}%  ${(spent / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
}
