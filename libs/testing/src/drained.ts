import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '#libs/redis';
import { waitFor } from './wait-for.js';

/**
 * "Drained" waits for exactly-once tests. Waiting only until a count is reached lets a
 * duplicate that arrives a moment later pass unseen; these wait until the thing that could
 * still produce one has nothing left to do, so a count taken afterwards is final.
 */

/** Reads a Redis `XINFO` reply (a flat field/value list) as a map. */
function fieldsOf(reply: unknown[]): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (let i = 0; i < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  return fields;
}

/**
 * Waits until every consumer group of the stream at `streamKey` has read it to its last
 * entry and acknowledged everything it read (no pending entries, no lag). Call it once the
 * producers are done; `groups` (default: at least one) is how many groups must exist.
 */
export async function waitForConsumerGroupsDrained(redis: Redis, streamKey: string, timeoutMs = 30_000, groups = 1): Promise<void> {
  await waitFor(
    `every consumer group of ${streamKey} to read it to its end with nothing pending`,
    async () => {
      const stream = fieldsOf((await redis.xinfo('STREAM', streamKey)) as unknown[]);
      const lastId = String(stream.get('last-generated-id'));
      const infos = ((await redis.xinfo('GROUPS', streamKey)) as unknown[][]).map(fieldsOf);
      if (infos.length < groups) return undefined;
      const drained = infos.every((group) => group.get('pending') === 0 && String(group.get('last-delivered-id')) === lastId);
      return drained ? true : undefined;
    },
    timeoutMs,
  );
}

/** Job states in which a BullMQ job may still run or be retried. */
const UNFINISHED_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Waits until none of `queues` holds a job that is waiting, delayed or running. */
export async function waitForQueuesDrained(queues: Queue[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `queues ${queues.map((queue) => queue.name).join(', ')} to have no unfinished job`,
    async () => {
      const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...UNFINISHED_STATES)));
      return counts.every((count) => Object.values(count).every((n) => n === 0)) ? true : undefined;
    },
    timeoutMs,
  );
}

/**
 * Waits until no org's task outbox (`enqueue`, `persist`, `remove`) holds an entry: every
 * run job is enqueued, every finished task's history is in Postgres and every cancelled
 * task's job removed, so no hand-off is left that could still add a row or a run.
 */
export async function waitForTaskOutboxesDrained(redis: Redis, keys: RedisKeys, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'every task outbox to be empty',
    async () => {
      const orgIds = await redis.smembers(keys.taskOrgs);
      const sizes = await Promise.all(
        orgIds.flatMap((orgId) => (['enqueue', 'persist', 'remove'] as const).map((kind) => redis.zcard(keys.taskOutbox(orgId, kind)))),
      );
      return sizes.every((size) => size === 0) ? true : undefined;
    },
    timeoutMs,
  );
}

/**
 * Drains an ordered path (a stream read in order, a socket, a WAL relay): sends one marker
 * through the same path the counted items took and waits until it has arrived. Since the
 * path keeps order, everything sent before the marker has arrived by then too.
 */
export async function waitForBarrier<T>(
  what: string,
  send: () => Promise<unknown>,
  arrived: () => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  await send();
  return waitFor(`the barrier marker through ${what}`, arrived, timeoutMs);
}
