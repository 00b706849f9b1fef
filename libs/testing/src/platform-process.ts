import { spawn, type ChildProcess } from 'node:child_process';
import { fromProjectRoot } from '#libs/config';
import { waitFor } from './wait-for.js';

export type PlatformEntry = 'platform' | 'api' | 'worker' | 'migrate' | 'ops' | 'cli';

/** The built entry point of each process; the npm scripts that start them run these same files. */
export const ENTRY_SCRIPTS: Record<PlatformEntry, string> = {
  platform: 'dist/apps/platform/src/main.js',
  api: 'dist/apps/api/src/main.js',
  worker: 'dist/apps/worker/src/main.js',
  migrate: 'dist/apps/worker/src/migrate.js',
  ops: 'dist/apps/ops/src/main.js',
  cli: 'dist/apps/cli/src/main.js',
};

export interface PlatformProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Waits until the output matches `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Waits for the process to end; returns its exit code (null when killed by a signal). */
  waitForExit(timeoutMs?: number): Promise<number | null>;
}

/**
 * Runs a built entry point (`npm run build` first) as a real child process, with only
 * PATH and HOME inherited plus `env`, so the developer's own settings cannot leak in;
 * `args` are its command-line arguments (the ops CLI's command), `nodeOptions` options for
 * node itself (`--cpu-prof`, which NODE_OPTIONS refuses).
 */
export function spawnPlatformProcess(
  entry: PlatformEntry,
  env: Record<string, string>,
  args: string[] = [],
  nodeOptions: string[] = [],
): PlatformProcess {
  const child = spawn(process.execPath, [...nodeOptions, fromProjectRoot(ENTRY_SCRIPTS[entry]), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      waitFor(`${entry} output matching ${pattern}`, () => output.match(pattern) ?? undefined, timeoutMs),
    waitForExit: (timeoutMs = 15_000) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${entry} did not exit within ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ]),
  };
}
