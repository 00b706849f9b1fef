import { io, type Socket } from 'socket.io-client';
import { httpJson } from '../http-client.js';

/**
 * A load generator of the noisy-neighbour benchmark, in a process of its own (forked with
 * an IPC channel): `flood` is org A flooding until told to stop, `probe` is org B creating
 * tasks one after another and timing each create and its event. Neither shares a process
 * with the platform or with the other.
 */

/** What the parent sends. */
export type LoadCommand = { kind: 'probe'; count: number } | { kind: 'stop' };

/** What a load generator sends back. */
export type LoadReport =
  | { kind: 'ready' }
  | { kind: 'probed'; create: number[]; delivery: number[]; refusals: number[]; stages: ProbeStages }
  | { kind: 'flooded'; answers: Record<string, number> }
  | { kind: 'failed'; message: string };

/**
 * Where each of B's tasks spent its time, split at the task's `createdAt` (the API's clock
 * when the route began storing it; the same machine's clock as the probe's):
 * `accepted` from sending the request to then (connection, the API's event loop, body
 * parsing, authentication and rate check, the org's in-flight queue, validation),
 * `answered` from then to the answer (the Redis store, the audit row's commit, the reply),
 * `fannedOut` from then to the event on B's socket (the store, the event stream, the fan-out).
 */
export interface ProbeStages {
  accepted: number[];
  answered: number[];
  fannedOut: number[];
}

/**
 * The parts of A's flood that run (BENCH_NOISY_FLOOD, comma-separated; default all three):
 * `creates`, `lists`, `subscribes`. Flooding with one part at a time shows what each costs B.
 */
const FLOOD_PARTS = new Set((process.env.BENCH_NOISY_FLOOD || 'creates,lists,subscribes').split(',').map((part) => part.trim()));
/** Org A's flood: task creators and list readers in flight at once, and sockets each sending subscribes without waiting. */
const FLOOD_TASK_CONCURRENCY = 16;
const FLOOD_LIST_CONCURRENCY = 8;
const FLOOD_SOCKETS = 22;
const FLOOD_SUBSCRIBES_PER_BURST = 150;
/** Requests the flood makes before it reports that it is going: the probe then measures a flood in full swing. */
const FLOOD_WARMUP_ANSWERS = 500;
/** Longest a load generator runs if its parent never says stop (it stops by itself). */
const MAX_RUN_MS = 15 * 60_000;
/** Longest one of B's tasks may take from create to event before the probe gives up on it. */
const PROBE_DEADLINE_MS = 60_000;
const ACK_TIMEOUT_MS = 30_000;

const [mode, baseUrl, token] = process.argv.slice(2) as ['flood' | 'probe', string, string];

function send(report: LoadReport): Promise<void> {
  return new Promise((resolve) => process.send!(report, () => resolve()));
}

function connect(): Promise<Socket> {
  const socket = io(`${baseUrl}/realtime`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Org A until told to stop: task creation, big list calls, and bursts of subscribes not waiting for their acks. */
async function flood(stopped: Promise<void>): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const answers: Record<string, number> = {};
  let total = 0;
  let announced = false;
  const count = (what: string) => {
    answers[what] = (answers[what] ?? 0) + 1;
    if (++total >= FLOOD_WARMUP_ANSWERS && !announced) {
      announced = true;
      void send({ kind: 'ready' });
    }
  };
  let done = false;
  void stopped.then(() => (done = true));
  const loop = (call: () => Promise<unknown>) =>
    (async () => {
      while (!done) await call().catch((error: Error) => count(`error ${error.message.slice(0, 60)}`));
    })();
  const creators = Array.from({ length: FLOOD_PARTS.has('creates') ? FLOOD_TASK_CONCURRENCY : 0 }, () =>
    loop(async () => count(`create ${(await httpJson(`${baseUrl}/v1/tasks`, 'POST', auth, { type: 'noop' })).status}`)),
  );
  const readers = Array.from({ length: FLOOD_PARTS.has('lists') ? FLOOD_LIST_CONCURRENCY : 0 }, (_, index) => {
    const path = index % 2 ? '/v1/tasks?limit=200' : '/v1/pools/flood/environments?limit=500';
    return loop(async () => count(`list ${(await httpJson(`${baseUrl}${path}`, 'GET', auth)).status}`));
  });
  const subscribers = Array.from({ length: FLOOD_PARTS.has('subscribes') ? FLOOD_SOCKETS : 0 }, () =>
    loop(async () => {
      // Sockets past REALTIME_SOCKETS_PER_TOKEN are refused at the handshake; the rest burst subscribes, then start over.
      const socket = await connect().catch((error: Error & { data?: { limit?: string } }) => {
        count(`connect refused ${error.data?.limit ?? error.message.slice(0, 40)}`);
      });
      if (!socket) return;
      try {
        await Promise.all(
          Array.from({ length: FLOOD_SUBSCRIBES_PER_BURST }, async () => {
            const answer = (await socket
              .timeout(ACK_TIMEOUT_MS)
              .emitWithAck('subscribe', { topic: 'resource', id: 'pool:flood' })
              .catch(() => ({ ok: false, limit: 'ack timeout' }))) as { ok: boolean; limit?: string; error?: string };
            count(answer.ok ? 'subscribe ok' : `subscribe refused ${answer.limit ?? answer.error}`);
          }),
        );
      } finally {
        socket.close();
      }
    }),
  );
  await Promise.all([...creators, ...readers, ...subscribers]);
  await send({ kind: 'flooded', answers });
}

/** Org B's socket, subscribed to its `tasks` topic, with the arrival time of each task's first event. */
async function watchTasks() {
  const socket = await connect();
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  socket.on('event', (event: { type: string; data: { id: string } }) => {
    if (event.type !== 'task.updated' || arrivals.has(event.data.id)) return;
    arrivals.set(event.data.id, performance.now());
    waiting.get(event.data.id)?.();
  });
  const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('subscribe', { topic: 'tasks' })) as { ok: boolean };
  if (!ack.ok) throw new Error(`org B could not subscribe: ${JSON.stringify(ack)}`);
  return { socket, arrivals, waiting };
}

/**
 * Org B creates `count` tasks one after another: for each, the time the create took and
 * the time until its `task.updated` event reached B's socket (from the create's start).
 */
async function probe({ arrivals, waiting }: Awaited<ReturnType<typeof watchTasks>>, count: number): Promise<LoadReport> {
  const auth = { authorization: `Bearer ${token}` };
  const create: number[] = [];
  const refusals: number[] = [];
  const delivery: number[] = [];
  const stages: ProbeStages = { accepted: [], answered: [], fannedOut: [] };
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    const startedAt = Date.now();
    const response = await httpJson(`${baseUrl}/v1/tasks`, 'POST', auth, { type: 'noop' });
    create.push(performance.now() - started);
    const answeredAt = Date.now();
    // A refused create counts as such; its time still counts.
    if (response.status !== 201) {
      refusals.push(response.status);
      continue;
    }
    const { id, createdAt } = JSON.parse(response.text) as { id: string; createdAt: string };
    const storedAt = Date.parse(createdAt);
    stages.accepted.push(storedAt - startedAt);
    stages.answered.push(answeredAt - storedAt);
    if (!arrivals.has(id)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`org B's task ${id} sent no event within ${PROBE_DEADLINE_MS} ms`)),
          PROBE_DEADLINE_MS,
        );
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    waiting.delete(id);
    delivery.push(arrivals.get(id)! - started);
    stages.fannedOut.push(startedAt + (arrivals.get(id)! - started) - storedAt);
    arrivals.delete(id);
  }
  return { kind: 'probed', create, delivery, refusals, stages };
}

async function main(): Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  setTimeout(stop, MAX_RUN_MS).unref();
  // A benchmark that died leaves no load generator behind.
  process.once('disconnect', stop);
  if (mode === 'flood') {
    process.on('message', (command: LoadCommand) => command.kind === 'stop' && stop());
    await flood(stopped);
    return;
  }
  const watch = await watchTasks();
  let queue = Promise.resolve();
  process.on('message', (command: LoadCommand) => {
    if (command.kind === 'stop') return stop();
    queue = queue.then(async () => send(await probe(watch, command.count)));
  });
  await send({ kind: 'ready' });
  await stopped;
  await queue;
  watch.socket.close();
}

main().then(
  () => process.exit(0),
  async (error: Error) => {
    await send({ kind: 'failed', message: error.stack ?? error.message });
    process.exit(1);
  },
);
