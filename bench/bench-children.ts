import { fork, type ChildProcess } from 'node:child_process';
import { fromProjectRoot } from '#libs/config';

/** A benchmark helper process (load generator, socket clients, bare server) answering requests over IPC. */
export interface BenchChild {
  pid: number;
  /** Sends one request and resolves with the child's answer. */
  request<T = unknown>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

interface Reply {
  id?: number;
  ready?: boolean;
  result?: unknown;
  error?: string;
}

/**
 * Forks a built bench script (path under dist/bench, e.g. `load-generator.process.js`) as a
 * process of its own, so its CPU is never charged to what it measures; resolves once it
 * says it is ready.
 */
export function forkBenchChild(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<BenchChild> {
  const child: ChildProcess = fork(fromProjectRoot(`dist/bench/${script}`), args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    for (const { reject } of waiting.values()) reject(new Error(`${script} exited (${code ?? signal}) with a request open`));
    waiting.clear();
  });
  child.on('message', (reply: Reply) => {
    if (reply.id === undefined) return;
    const pending = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) pending?.reject(new Error(`${script}: ${reply.error}`));
    else pending?.resolve(reply.result);
  });
  const handle: BenchChild = {
    pid: child.pid!,
    request<T>(message: Record<string, unknown>) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ ...message, id });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
  return new Promise((resolve, reject) => {
    const onReady = (reply: Reply) => {
      if (!reply.ready) return;
      child.off('message', onReady);
      resolve(handle);
    };
    child.on('message', onReady);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

/** Forks `count` copies of a bench script; all are stopped together. */
export async function forkBenchChildren(count: number, script: string, args: string[] = [], env: Record<string, string> = {}) {
  return Promise.all(Array.from({ length: count }, () => forkBenchChild(script, args, env)));
}

/** The child's side: answers each request with `handle`, says it is ready, and exits with its parent. */
export function serveBenchRequests(handle: (message: Record<string, unknown> & { kind: string }) => Promise<unknown>): void {
  process.on('message', (message: Record<string, unknown> & { id: number; kind: string }) => {
    handle(message).then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ ready: true });
}

/** RSS of a process in KiB, read from /proc. */
export async function rssKiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** CPU time (user + system) a process has used so far, in ms, read from /proc (clock ticks of 10 ms). */
export async function cpuMs(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
