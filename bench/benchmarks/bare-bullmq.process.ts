import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The bare BullMQ baseline of `tasks.e2e`, shaped like the platform: the producer and the
 * no-op worker each run in a child process of their own (forked with an IPC channel, the
 * role as the first argument) on the same Redis. The producer adds `count` jobs with
 * `inFlight` adds at once when told; the worker processes jobs with `concurrency` slots
 * and answers once `total` jobs have completed since it started.
 */
export type BareBullmqCommand = { kind: 'produce'; count: number; inFlight: number } | { kind: 'await'; total: number };

const [role, redisUrl, queueName, prefix, concurrency] = process.argv.slice(2) as [string, string, string, string, string];
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });

if (role === 'producer') {
  const queue = new Queue(queueName, { connection, prefix });
  await queue.waitUntilReady();
  process.on('message', (command: BareBullmqCommand) => {
    if (command.kind !== 'produce') return;
    let next = 0;
    void Promise.all(
      Array.from({ length: command.inFlight }, async () => {
        while (next < command.count) {
          next++;
          await queue.add('noop', {}, { removeOnComplete: true });
        }
      }),
    ).then(() => process.send!({ produced: command.count }));
  });
  process.send!({ ready: true });
} else {
  let completed = 0;
  const waiting: { total: number; resolve: () => void }[] = [];
  const worker = new Worker(queueName, async () => undefined, { connection, prefix, concurrency: Number(concurrency) });
  worker.on('completed', () => {
    completed++;
    for (const waiter of waiting.filter((candidate) => completed >= candidate.total)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  await worker.waitUntilReady();
  process.on('message', (command: BareBullmqCommand) => {
    if (command.kind !== 'await') return;
    void new Promise<void>((resolve) => (completed >= command.total ? resolve() : waiting.push({ total: command.total, resolve }))).then(
      () => process.send!({ completed }),
    );
  });
  process.send!({ ready: true });
}
process.on('disconnect', () => process.exit(0));
