import { setTimeout as delay } from 'node:timers/promises';

const POLL_INTERVAL_MS = 25;

/**
 * How long a wait polls by default. It is a bound for a hung test, not a timing claim: on a
 * loaded 2-core machine a spawned worker can take well over 10 s to boot and run a task.
 */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(POLL_INTERVAL_MS);
  }
}
