import { io, type Socket } from 'socket.io-client';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform, type BenchPlatform } from '../bench-platform.js';
import { httpJson } from '../http-client.js';
import { median, percentile, round, type Benchmark } from '../measure.js';

const ROUNDS = 3;
/** Tasks org B creates, one after another, per measurement. */
const PROBES = 100;
const WARMUP_PROBES = 20;
/** Longest one of B's tasks may take from create to event before the run is called off (the platform starved B). */
const PROBE_DEADLINE_MS = 60_000;
/** Org A's flood: task creators and list readers in flight at once, and sockets each sending subscribes without waiting. */
const FLOOD_TASK_CONCURRENCY = 16;
const FLOOD_LIST_CONCURRENCY = 8;
const FLOOD_SOCKETS = 22;
const FLOOD_SUBSCRIBES_PER_BURST = 150;
const FLOOD_ENVIRONMENTS = 200;
/** The caps the platform runs with here: the defaults, with the request rates an operator of a shared machine would set. */
const CAPS = {
  RATE_LIMIT_ORG_PER_SECOND: '200',
  RATE_LIMIT_TOKEN_PER_SECOND: '200',
  REALTIME_SOCKETS_PER_TOKEN: '20',
  REALTIME_SOCKETS_PER_ORG: '200',
  REALTIME_SUBSCRIPTIONS_PER_SOCKET: '100',
  REALTIME_SUBSCRIPTIONS_PER_ORG: '2000',
};

interface Org {
  token: string;
}

function connect(platform: BenchPlatform, token: string): Promise<Socket> {
  const socket = io(`${platform.baseUrl}/realtime`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Org B's socket, subscribed to its `tasks` topic before any flood, with the arrival time of each task's first event. */
async function watchTasks(platform: BenchPlatform, b: Org) {
  const socket = await connect(platform, b.token);
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  socket.on('event', (event: { type: string; data: { id: string } }) => {
    if (event.type !== 'task.updated' || arrivals.has(event.data.id)) return;
    arrivals.set(event.data.id, performance.now());
    waiting.get(event.data.id)?.();
  });
  const ack = (await socket.timeout(30_000).emitWithAck('subscribe', { topic: 'tasks' })) as { ok: boolean };
  if (!ack.ok) throw new Error(`org B could not subscribe: ${JSON.stringify(ack)}`);
  return { socket, arrivals, waiting };
}

type Watch = Awaited<ReturnType<typeof watchTasks>>;

/**
 * Org B creates tasks one after another: for each, the time the create took and the time
 * until its `task.updated` event reached B's socket (from the create's start).
 */
async function probe(
  platform: BenchPlatform,
  b: Org,
  { arrivals, waiting }: Watch,
  count: number,
): Promise<{ create: number[]; delivery: number[]; refusals: number[] }> {
  const create: number[] = [];
  const refusals: number[] = [];
  const delivery: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    const response = await httpJson(`${platform.baseUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${b.token}` }, { type: 'noop' });
    create.push(performance.now() - started);
    // A refused create (503 when the flood exhausts shared connections) counts as such; its time still counts.
    if (response.status !== 201) {
      refusals.push(response.status);
      continue;
    }
    const id = (JSON.parse(response.text) as { id: string }).id;
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
  }
  return { create, delivery, refusals };
}

/** Org A floods until `stop` is set: task creation, big list calls, and subscribes sent in bursts without waiting for acks. */
function flood(platform: BenchPlatform, a: Org, stop: { done: boolean }): Promise<unknown> {
  const auth = { authorization: `Bearer ${a.token}` };
  const loop = (call: () => Promise<unknown>) =>
    (async () => {
      while (!stop.done) await call().catch(() => undefined);
    })();
  const creators = Array.from({ length: FLOOD_TASK_CONCURRENCY }, () =>
    loop(() => httpJson(`${platform.baseUrl}/v1/tasks`, 'POST', auth, { type: 'noop' })),
  );
  const readers = Array.from({ length: FLOOD_LIST_CONCURRENCY }, (_, index) =>
    loop(() => httpJson(`${platform.baseUrl}${index % 2 ? '/v1/tasks?limit=200' : '/v1/pools/flood/environments?limit=500'}`, 'GET', auth)),
  );
  const subscribers = Array.from({ length: FLOOD_SOCKETS }, () =>
    loop(async () => {
      // Sockets past REALTIME_SOCKETS_PER_TOKEN are refused at the handshake; the rest burst subscribes, then start over.
      const socket = await connect(platform, a.token);
      try {
        await Promise.all(
          Array.from({ length: FLOOD_SUBSCRIBES_PER_BURST }, () =>
            socket
              .timeout(30_000)
              .emitWithAck('subscribe', { topic: 'resource', id: 'pool:flood' })
              .catch(() => undefined),
          ),
        );
      } finally {
        socket.close();
      }
    }),
  );
  return Promise.all([...creators, ...readers, ...subscribers]);
}

/**
 * Noisy neighbour: the p99 of org B's task creation and of its event delivery while org A
 * floods the same platform (task creation, list calls, subscriptions), as a ratio to B
 * alone; rounds interleave alone and flooded. The goal is a ratio of at most 2.
 */
export const noisyNeighbourBenchmark: Benchmark = {
  name: 'noisy-neighbour',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment, CAPS);
    try {
      const [a, b] = [await platform.createOrg('noisy-a'), await platform.createOrg('quiet-b')];
      await platform.call('POST', '/v1/pools', { name: 'flood', kind: 'bench' }, a.token);
      for (let index = 0; index < FLOOD_ENVIRONMENTS; index++) {
        await platform.call(
          'POST',
          '/v1/pools/flood/environments',
          { name: `env-${index}`, attributes: { blob: 'x'.repeat(1_000) } },
          a.token,
        );
      }
      const watch = await watchTasks(platform, b);
      await probe(platform, b, watch, WARMUP_PROBES);
      const alone = { create: [] as number[], delivery: [] as number[], refusals: 0 };
      const noisy = { create: [] as number[], delivery: [] as number[], refusals: 0 };
      for (let pass = 1; pass <= ROUNDS; pass++) {
        const quiet = await probe(platform, b, watch, PROBES);
        alone.create.push(percentile(quiet.create, 0.99));
        alone.delivery.push(percentile(quiet.delivery, 0.99));
        alone.refusals += quiet.refusals.length;
        const stop = { done: false };
        const flooding = flood(platform, a, stop);
        try {
          const loud = await probe(platform, b, watch, PROBES);
          process.stdout.write(
            `  round ${pass}: B p99 create ${round(percentile(quiet.create, 0.99))} ms alone, ${round(percentile(loud.create, 0.99))} ms flooded\n`,
          );
          noisy.create.push(percentile(loud.create, 0.99));
          noisy.delivery.push(percentile(loud.delivery, 0.99));
          noisy.refusals += loud.refusals.length;
        } finally {
          stop.done = true;
          await flooding;
        }
      }
      const figure = (name: string, flooded: number[], baseline: number[]) => ({
        name,
        value: round(median(flooded)),
        min: round(Math.min(...flooded)),
        max: round(Math.max(...flooded)),
        rounds: ROUNDS,
        unit: 'ms',
        samples: ROUNDS * PROBES,
        baseline: {
          name: `${name}.alone`,
          value: round(median(baseline)),
          min: round(Math.min(...baseline)),
          max: round(Math.max(...baseline)),
          unit: 'ms',
        },
        ratio: round(median(flooded) / Math.max(0.001, median(baseline))),
        goal: 'ratio <= 2',
        bRefusedCreates: { alone: alone.refusals, flooded: noisy.refusals },
        caps: CAPS,
      });
      watch.socket.close();
      return [
        figure('noisy_neighbour.b_task_create.p99', noisy.create, alone.create),
        figure('noisy_neighbour.b_event_delivery.p99', noisy.delivery, alone.delivery),
      ];
    } finally {
      await platform.stop();
    }
  },
};
