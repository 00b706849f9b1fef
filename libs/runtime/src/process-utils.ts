import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';

const POLL_INTERVAL_MS = 50;
const ORPHAN_STOP_TIMEOUT_MS = 15_000;

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `condition` until it holds or `timeoutMs` passes; the error names `what` was awaited. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(POLL_INTERVAL_MS);
  }
}

/**
 * A platform killed with SIGKILL leaves the servers it started running. Before starting
 * one again on the same data folder, stop the one named by its pid file.
 */
export async function stopOrphanedProcess(pidFile: string, signal: NodeJS.Signals, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  logger.warn({ pid, pidFile }, 'stopping a server left running by an earlier start');
  process.kill(pid, signal);
  await waitUntil(() => !isAlive(pid), ORPHAN_STOP_TIMEOUT_MS, `process ${pid} to stop`);
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
